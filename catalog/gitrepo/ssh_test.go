package gitrepo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/charttest"
)

// TestGitPublishOverSSH runs git's real ssh transport with a stand-in `ssh` on
// PATH that runs the remote command (git-upload-pack/receive-pack) locally, as
// sshd would, and records how git called it: with the key given, and nothing else.
func TestGitPublishOverSSH(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "ssh.log")
	shim := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + log + "\nfor a; do last=$a; done\nkey=$(printf '%s' \"$*\" | sed -n 's/.*-i \\([^ ]*\\) .*/\\1/p')\ncat \"$key\" >> " + log + "\nexec sh -c \"$last\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "ssh"), []byte(shim), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	bare := filepath.Join(t.TempDir(), "catalog.git")
	bareCatalog(t, bare, map[string]string{"index.yaml": emptyIndex(t)})
	opts := testGitOptions()
	opts.SSHKey = []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nfake-key-material\n-----END OPENSSH PRIVATE KEY-----\n")
	c, err := Open("git+ssh://git@catalog.example.com"+bare, opts)
	require.NoError(t, err)
	res, err := c.Publish(context.Background(), charttest.Package(t, t.TempDir(), "hello", "1.0.0"))
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	assert.True(t, loadIndex(t, []byte(show(t, bare, "index.yaml"))).Has("hello", "1.0.0"))

	calls, err := os.ReadFile(log)
	require.NoError(t, err)
	s := string(calls)
	assert.Contains(t, s, "IdentitiesOnly=yes")
	assert.Contains(t, s, "git@catalog.example.com")
	assert.Contains(t, s, "git-receive-pack")
	assert.Contains(t, s, "fake-key-material", "git used the key it was given")
	// The key file lived in a private temporary directory that is gone now.
	for line := range strings.Lines(s) {
		if _, key, ok := strings.Cut(line, "-i "); ok {
			p := strings.Trim(strings.Fields(key)[0], "'")
			_, err := os.Stat(p)
			assert.True(t, os.IsNotExist(err), "key file %s removed", p)
		}
	}
}
