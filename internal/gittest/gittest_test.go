package gittest

import (
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCloneAndPushOverSmartHTTP(t *testing.T) {
	srv := NewServer(t, WithBasicAuth("ci", "s3cret"))
	repo := srv.NewRepo(t, "catalog.git")
	Seed(t, srv.Dir("catalog.git"), map[string]string{"index.yaml": "apiVersion: v1\n"}, "init")

	u, err := url.Parse(repo)
	require.NoError(t, err)
	u.User = url.UserPassword("ci", "s3cret")
	work := t.TempDir()
	Git(t, "", "clone", "--quiet", u.String(), work)
	Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "second")
	Git(t, work, "push", "--quiet", "origin", "HEAD:main")

	log := Git(t, srv.Dir("catalog.git"), "log", "--format=%s", "main")
	assert.Equal(t, "second\ninit\n", log)
	assert.Greater(t, srv.Requests(), int64(3))

	// Wrong credentials are rejected by the server, not silently accepted.
	u.User = url.UserPassword("ci", "wrong")
	cmd := exec.Command("git", "ls-remote", u.String())
	cmd.Env = Env()
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.True(t, strings.Contains(string(out), "Authentication failed") || strings.Contains(string(out), "401"), string(out))
}
