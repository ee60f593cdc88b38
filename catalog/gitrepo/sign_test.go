package gitrepo

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/gittest"
)

// A publish with an SSH signing key commits a signature git verify-commit
// accepts with the key in the allowed signers, and rejects without it.
func TestGitPublishSignsWithSSHKey(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	key, allowed := gittest.SSHSigningKey(t)
	bare := filepath.Join(t.TempDir(), "catalog.git")
	bareCatalog(t, bare, map[string]string{"index.yaml": emptyIndex(t)})
	unsigned := head(t, bare)

	opts := testGitOptions()
	opts.Sign = git.Signing{Key: key, Format: git.SignSSH}
	c, err := Open("git+file://"+bare, opts)
	require.NoError(t, err)
	_, err = c.Publish(context.Background(), charttest.Package(t, t.TempDir(), "hello", "1.2.3"))
	require.NoError(t, err)

	tip := head(t, bare)
	require.NotEqual(t, unsigned, tip)
	out, ok := gittest.VerifyCommit(t, bare, tip, "gpg.ssh.allowedSignersFile="+allowed)
	assert.True(t, ok, "verify-commit: %s", out)
	assert.Contains(t, out, "Good \"git\" signature")
	_, ok = gittest.VerifyCommit(t, bare, unsigned, "gpg.ssh.allowedSignersFile="+allowed)
	assert.False(t, ok, "the seed commit is unsigned: verify-commit must refuse it")
	_, otherAllowed := gittest.SSHSigningKey(t)
	_, ok = gittest.VerifyCommit(t, bare, tip, "gpg.ssh.allowedSignersFile="+otherAllowed)
	assert.False(t, ok, "another key's allowed signers must not accept the commit")
}

// A signing key that is missing, or that ssh-keygen can't use, fails the
// publish with a usage error naming the key file; nothing reaches the remote.
func TestGitPublishBadSigningKey(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	bare := filepath.Join(t.TempDir(), "catalog.git")
	bareCatalog(t, bare, map[string]string{"index.yaml": emptyIndex(t)})
	before := head(t, bare)

	missing := filepath.Join(t.TempDir(), "nope")
	opts := testGitOptions()
	opts.Sign = git.Signing{Key: missing}
	_, err := Open("git+file://"+bare, opts)
	require.Error(t, err)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), missing)
	t.Log(err)

	garbage := filepath.Join(t.TempDir(), "garbage")
	const secret = "not-a-key-but-secret-material"
	require.NoError(t, os.WriteFile(garbage, []byte(secret+"\n"), 0o600))
	opts.Sign = git.Signing{Key: garbage, Format: git.SignSSH}
	c, err := Open("git+file://"+bare, opts)
	require.NoError(t, err)
	_, err = c.Publish(context.Background(), charttest.Package(t, t.TempDir(), "hello", "1.2.3"))
	require.Error(t, err)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), garbage)
	t.Log(err)
	assert.Contains(t, err.Error(), "--commit-signing-key")
	assert.NotContains(t, err.Error(), secret)
	assert.NotContains(t, err.Error(), "\n")
	assert.Equal(t, before, head(t, bare), "nothing pushed")

	opts.Sign = git.Signing{Key: garbage, Format: "x509"}
	_, err = Open("git+file://"+bare, opts)
	assert.ErrorIs(t, err, errdef.ErrUsage)
}
