package git

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/gittest"
)

func TestSigningValidate(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	assert.NoError(t, os.WriteFile(key, []byte("k"), 0o600))
	for _, tc := range []struct {
		s    Signing
		want string // "" valid
	}{
		{Signing{}, ""},
		{Signing{Key: key}, ""},
		{Signing{Key: key, Format: SignSSH}, ""},
		{Signing{Key: "0xDEADBEEF", Format: SignOpenPGP}, ""}, // a key id, not a file
		{Signing{Key: key, Format: "x509"}, `"x509": use ssh or openpgp`},
		{Signing{Format: SignSSH}, "without a signing key"},
		{Signing{Key: key + ".missing"}, key + ".missing: no such file or directory"},
		{Signing{Key: t.TempDir()}, "is a directory"},
	} {
		err := tc.s.Validate()
		if tc.want == "" {
			assert.NoError(t, err, "%+v", tc.s)
			continue
		}
		assert.ErrorIs(t, err, errdef.ErrUsage, "%+v", tc.s)
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestSigningArgs(t *testing.T) {
	assert.Nil(t, Signing{}.configArgs())
	assert.Equal(t, "--no-gpg-sign", Signing{}.SignArg())
	assert.Equal(t, []string{"-c", "gpg.format=openpgp", "-c", "user.signingkey=ABC"}, Signing{Key: "ABC", Format: SignOpenPGP}.configArgs())
	abs, _ := filepath.Abs("rel/key")
	assert.Equal(t, []string{"-c", "gpg.format=ssh", "-c", "user.signingkey=" + abs}, Signing{Key: "rel/key"}.configArgs())
	assert.Equal(t, "-S", Signing{Key: "k"}.SignArg())
}

func TestSigningExplain(t *testing.T) {
	s := Signing{Key: "/keys/id", Format: SignSSH}
	other := &Error{Args: []string{"commit-tree"}, Stderr: "fatal: not a valid object name", Err: errors.New("exit status 128")}
	assert.Same(t, error(other), s.Explain(other), "not about signing: unchanged")
	signing := &Error{Args: []string{"commit-tree"}, Stderr: "error: Couldn't load public key /keys/id: No such file or directory?\n\nfatal: failed to write commit object\n", Err: errors.New("exit status 128")}
	err := s.Explain(signing)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.ErrorContains(t, err, "SSH key /keys/id failed (error: Couldn't load public key")
	assert.NotContains(t, err.Error(), "\n")
	assert.Same(t, error(signing), Signing{}.Explain(signing), "unsigned: unchanged")
}

func TestSigningCheck(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	key, _ := gittest.SSHSigningKey(t)
	assert.NoError(t, Signing{Key: key}.Check(context.Background()))
	assert.NoError(t, Signing{}.Check(context.Background()))

	// A key with a passphrase can't sign without a terminal: refused at once.
	locked := filepath.Join(t.TempDir(), "locked")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "pass-phrase", "-f", locked).CombinedOutput()
	require.NoError(t, err, "%s", out)
	err = Signing{Key: locked}.Check(context.Background())
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.ErrorContains(t, err, locked)
	assert.NotContains(t, err.Error(), "pass-phrase")
	t.Log(err)

	t.Setenv("GNUPGHOME", t.TempDir()) // an empty keyring, not the user's
	err = Signing{Key: "nobody@chartship.invalid", Format: SignOpenPGP}.Check(context.Background())
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.ErrorContains(t, err, "OpenPGP key nobody@chartship.invalid")
}
