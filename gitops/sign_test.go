package gitops

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
	gitcli "github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/gittest"
)

// A bump with an SSH signing key pushes a commit git verify-commit accepts.
func TestBumpSignsWithSSHKey(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	key, allowed := gittest.SSHSigningKey(t)
	f := newFleet(t, "helmrelease-ocirepository")
	opts := f.opts()
	opts.PushTo = "main"
	opts.Sign = gitcli.Signing{Key: key, Format: gitcli.SignSSH}
	req := Request{Chart: "hello-world", Version: "1.3.1", Registry: "oci://gsoci.azurecr.io/charts/giantswarm", Available: []string{"1.3.0", "2.0.0"}}
	res, err := Bump(context.Background(), f.url, req, opts)
	require.NoError(t, err)
	require.Equal(t, StatusPushed, res.Status)
	tip := strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main"))
	require.Equal(t, res.Commit, tip)
	out, ok := gittest.VerifyCommit(t, f.bare, tip, "gpg.ssh.allowedSignersFile="+allowed)
	assert.True(t, ok, "verify-commit: %s", out)
	_, ok = gittest.VerifyCommit(t, f.bare, "main~1", "gpg.ssh.allowedSignersFile="+allowed)
	assert.False(t, ok, "the seed commit is unsigned")
}

// A key git can't sign with fails the bump before the push: exit 1 (usage),
// naming the key file, main unmoved.
func TestBumpBadSigningKey(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	f := newFleet(t, "helmrelease-ocirepository")
	before := gittest.Git(t, f.bare, "rev-parse", "main")
	garbage := filepath.Join(t.TempDir(), "garbage")
	require.NoError(t, os.WriteFile(garbage, []byte("secret-bytes\n"), 0o600))
	opts := f.opts()
	opts.PushTo = "main"
	opts.Sign = gitcli.Signing{Key: garbage}
	req := Request{Chart: "hello-world", Version: "1.3.1", Registry: "oci://gsoci.azurecr.io/charts/giantswarm", Available: []string{"1.3.0", "2.0.0"}}
	_, err := Bump(context.Background(), f.url, req, opts)
	require.Error(t, err)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), garbage)
	assert.NotContains(t, err.Error(), "secret-bytes")
	assert.NotContains(t, err.Error(), gitToken)
	assert.Equal(t, before, gittest.Git(t, f.bare, "rev-parse", "main"), "nothing pushed")

	opts.Sign = gitcli.Signing{Key: filepath.Join(t.TempDir(), "missing")}
	_, err = Bump(context.Background(), f.url, req, opts)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "missing")
}

// An OpenPGP key id in a throwaway GNUPGHOME signs the bump commit.
func TestBumpSignsWithOpenPGPKey(t *testing.T) {
	if testing.Short() {
		t.Skip("gpg key generation: not in -short")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	home := gpgHome(t)
	f := newFleet(t, "helmrelease-ocirepository")
	opts := f.opts()
	opts.PushTo = "main"
	opts.Sign = gitcli.Signing{Key: "bot@chartship.invalid", Format: gitcli.SignOpenPGP}
	req := Request{Chart: "hello-world", Version: "1.3.1", Registry: "oci://gsoci.azurecr.io/charts/giantswarm", Available: []string{"1.3.0", "2.0.0"}}
	res, err := Bump(context.Background(), f.url, req, opts)
	require.NoError(t, err)
	out, ok := gittest.VerifyCommit(t, f.bare, res.Commit)
	assert.True(t, ok, "verify-commit (GNUPGHOME %s): %s", home, out)
	assert.Contains(t, out, "GOODSIG")

	opts.Sign.Key = "nobody@chartship.invalid"
	req.Version = "1.3.2"
	_, err = Bump(context.Background(), f.url, req, opts)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "nobody@chartship.invalid")
}

// gpgHome makes a GNUPGHOME with a key without a passphrase and sets it.
func gpgHome(t *testing.T) string {
	t.Helper()
	gittest.NeedTool(t, "gpg")
	home, err := os.MkdirTemp("", "gpg-") // short: gpg-agent's socket path is bounded
	require.NoError(t, err)
	t.Setenv("GNUPGHOME", home)
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	cmd := exec.Command("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "chartship bot <bot@chartship.invalid>", "ed25519", "sign", "never")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "gpg --quick-gen-key: %s", out)
	return home
}
