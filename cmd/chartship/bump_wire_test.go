package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/gittest"
)

// TestBumpCommandGitWire: bump's --retries and --request-timeout reach its git
// transfers. A stall beyond the retries exits 3 naming it; a 502 within them
// is retried, counted in the JSON result, and the bump lands once.
func TestBumpCommandGitWire(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", "ghs_wire_token"))
	seedGolden(t, srv, "acme/fleet.git", "app-marker")
	proxy := faultproxy.New(t, srv.URL)
	repo := "git+" + proxy.URL + "/acme/fleet.git"
	t.Setenv("GITHUB_TOKEN", "ghs_wire_token")
	args := []string{"--output", "json", "bump", "--chart", "hello-world", "--version", "1.3.0", "--repo", repo, "--push-to", "main", "--retries", "1"}

	proxy.Inject(faultproxy.Rule{Method: http.MethodPost, Path: "/git-upload-pack", Class: faultproxy.Stall, Times: -1, Stall: time.Minute})
	code, stdout, stderr := runCLI(t, append(args, "--request-timeout", "1s")...)
	assert.Equal(t, exitExternal, code, stderr)
	assert.Contains(t, stdout+stderr, "too slow")
	assert.Contains(t, stdout+stderr, "tried 2 times")
	assert.Equal(t, 2, proxy.Faults()[faultproxy.Stall], "one retry")

	proxy.Inject(faultproxy.Rule{Method: http.MethodPost, Path: "/git-receive-pack", Class: faultproxy.Status502})
	code, stdout, stderr = runCLI(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stdout+stderr, "ghs_wire_token")
	var out struct {
		Repos []struct {
			Status, Commit string
			Retries        int
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	require.Len(t, out.Repos, 1)
	assert.Equal(t, "pushed", out.Repos[0].Status)
	assert.Equal(t, 1, out.Repos[0].Retries)
	bare := srv.Dir("acme/fleet.git")
	assert.Equal(t, out.Repos[0].Commit, strings.TrimSpace(gittest.Git(t, bare, "rev-parse", "main")))
	assert.Equal(t, 1, strings.Count(gittest.Git(t, bare, "log", "--format=%s", "main"), "chore: bump hello-world"), "one bump commit")
}
