package gitops

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/gittest"
)

// wireFleet is a fleet whose git remote is reached through a fault proxy.
func wireFleet(t *testing.T) (*fleet, *faultproxy.Proxy, BumpOptions) {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	f := newFleet(t, "app-marker")
	proxy := faultproxy.New(t, strings.TrimSuffix(f.url, "/acme/fleet.git"))
	opts := f.opts()
	opts.Retries, opts.RequestTimeout = 2, time.Second
	return f, proxy, opts
}

// bumpCommits counts the bump commits on main (the seed is the only other one).
func bumpCommits(t *testing.T, bare string) int {
	t.Helper()
	n := strings.Count(gittest.Git(t, bare, "log", "--format=%s", "main"), "chore: bump hello-world to ")
	return n
}

// TestBumpWireFaults bumps through every fault class, on the clone
// (git-upload-pack) and on the push (git-receive-pack), against the real git
// http-backend behind the fault proxy: healed within the retries, the bump is
// pushed once with the retry counted; beyond them, exit 3 naming the class and
// the branch unchanged — except when the push landed and only its answer
// broke, which the retried push finds up to date (pushed, once).
func TestBumpWireFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("every fault class through git")
	}
	for _, class := range faultproxy.Classes {
		for _, step := range []string{"git-upload-pack", "git-receive-pack"} {
			t.Run(fmt.Sprintf("%s/%s", class, step), func(t *testing.T) {
				f, proxy, opts := wireFleet(t)
				opts.PushTo = "main"
				repo := "git+" + proxy.URL + "/acme/fleet.git"
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				rule := faultproxy.Rule{Method: http.MethodPost, Path: "/" + step, Class: class, RetryAfter: "0", Stall: 10 * time.Minute}

				// healed within the retries
				rule.Times = 1
				proxy.Inject(rule)
				res, err := Bump(ctx, repo, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
				require.NoError(t, err)
				assert.Equal(t, StatusPushed, res.Status)
				assert.Equal(t, 1, proxy.Faults()[class], "the fault fired")
				if class == faultproxy.Reset {
					// curl itself resends a request whose reused connection was reset
					assert.LessOrEqual(t, res.Retries, 1, "the retry is counted")
				} else {
					assert.Equal(t, 1, res.Retries, "the retry is counted")
				}
				assert.Equal(t, res.Commit, strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main")))
				assert.Equal(t, 1, bumpCommits(t, f.bare))

				// beyond the retries
				rule.Times = -1
				proxy.Inject(rule)
				before := strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main"))
				req := Request{Chart: "hello-world", Version: "1.4.0"}
				res, err = Bump(ctx, repo, req, opts)
				if step == "git-receive-pack" && class.MidBody() {
					require.NoError(t, err, "the push landed; only its answer broke")
					assert.Equal(t, StatusPushed, res.Status)
					assert.Equal(t, 1, res.Retries)
					assert.Equal(t, res.Commit, strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main")))
					assert.Equal(t, 2, bumpCommits(t, f.bare))
					return
				}
				require.Error(t, err)
				t.Log(err)
				assert.ErrorIs(t, err, errdef.ErrExternal, "exit 3")
				assert.Contains(t, err.Error(), "tried 3 times")
				if says, ok := faultproxy.GitSays[class]; ok {
					assert.Contains(t, err.Error(), says)
				}
				assert.NotContains(t, err.Error(), gitToken)
				assert.Equal(t, before, strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main")), "nothing pushed")

				proxy.Inject()
				res, err = Bump(ctx, repo, req, opts)
				require.NoError(t, err, "a re-run converges")
				assert.Equal(t, StatusPushed, res.Status)
				assert.Zero(t, res.Retries)
				assert.Equal(t, 2, bumpCommits(t, f.bare))
			})
		}
	}
}

// TestBumpWireBranchPush: the force-push of a bump branch (no --push-to) is
// retried the same way.
func TestBumpWireBranchPush(t *testing.T) {
	f, proxy, opts := wireFleet(t)
	proxy.Inject(faultproxy.Rule{Method: http.MethodPost, Path: "/git-receive-pack", Class: faultproxy.Status503})
	res, err := Bump(context.Background(), "git+"+proxy.URL+"/acme/fleet.git", Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.NoError(t, err)
	assert.Equal(t, StatusPushed, res.Status)
	assert.Equal(t, 1, res.Retries)
	assert.Equal(t, 1, proxy.Faults()[faultproxy.Status503])
	assert.Equal(t, res.Commit, strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", res.Branch)))
	assert.Equal(t, "1", strings.TrimSpace(gittest.Git(t, f.bare, "rev-list", "--count", "main.."+res.Branch)), "one bump commit")
}

// TestBumpWireAuthFailsAtOnce: a remote that refuses the credentials is asked
// once, never again, and nothing is pushed.
func TestBumpWireAuthFailsAtOnce(t *testing.T) {
	for _, class := range []faultproxy.Class{faultproxy.Status401, faultproxy.Status403} {
		for _, step := range []string{"git-upload-pack", "git-receive-pack"} {
			t.Run(fmt.Sprintf("%s/%s", class, step), func(t *testing.T) {
				f, proxy, opts := wireFleet(t)
				opts.PushTo = "main"
				before := strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main"))
				proxy.Inject(faultproxy.Rule{Method: http.MethodPost, Path: "/" + step, Class: class, Times: -1})
				_, err := Bump(context.Background(), "git+"+proxy.URL+"/acme/fleet.git", Request{Chart: "hello-world", Version: "1.3.0"}, opts)
				require.Error(t, err)
				t.Log(err)
				assert.ErrorIs(t, err, errdef.ErrExternal, "exit 3")
				assert.Contains(t, err.Error(), string(class))
				assert.Contains(t, err.Error(), "refused the credentials")
				assert.NotContains(t, err.Error(), gitToken)
				// git itself re-sends a refused request once: one attempt;
				// a retry would make it 4 or more
				assert.LessOrEqual(t, proxy.Faults()[class], 2, "one attempt, no retry")
				assert.NotContains(t, err.Error(), "tried")
				assert.Equal(t, before, strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main")), "nothing pushed")
				assert.Zero(t, bumpCommits(t, f.bare))
			})
		}
	}
}
