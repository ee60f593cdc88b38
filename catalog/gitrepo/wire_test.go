package gitrepo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/gittest"
)

// TestGitWireFaults runs a publish through every fault class, on the fetch
// (git-upload-pack) and on the push (git-receive-pack), against the real git
// http-backend behind the fault proxy: healed within the retries, the catalog
// holds the entry and the archive exactly once; beyond them, exit 3 and the
// branch unchanged — except when the push landed and only its answer broke,
// which the next attempt finds out (published, once).
func TestGitWireFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("every fault class through git")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, class := range faultproxy.Classes {
		for _, step := range []string{"git-upload-pack", "git-receive-pack"} {
			t.Run(fmt.Sprintf("%s/%s", class, step), func(t *testing.T) {
				srv := gittest.NewServer(t)
				srv.NewRepo(t, "catalog.git")
				bare := srv.Dir("catalog.git")
				gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
				gittest.Seed(t, bare, map[string]string{"index.yaml": emptyIndex(t)}, "seed")
				proxy := faultproxy.New(t, srv.URL)
				opts := testGitOptions()
				opts.Retries, opts.RequestTimeout = 3, time.Second
				c, err := Open("git+"+proxy.URL+"/catalog.git", opts)
				require.NoError(t, err)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				rule := faultproxy.Rule{Method: http.MethodPost, Path: "/" + step, Class: class, RetryAfter: "0", Stall: 10 * time.Minute}

				// healed within the retries
				rule.Times = 1
				proxy.Inject(rule)
				pkg := charttest.Package(t, t.TempDir(), "wired", "1.0.0")
				res, err := c.Publish(ctx, pkg)
				require.NoError(t, err)
				assert.Equal(t, catalogdef.Published, res.Status)
				assert.Equal(t, 1, proxy.Faults()[class], "the fault fired")
				gitAssertOnce(t, bare, "wired", "1.0.0")

				// beyond the retries
				rule.Times = -1
				proxy.Inject(rule)
				before := head(t, bare)
				pkg2 := charttest.Package(t, t.TempDir(), "wired", "2.0.0")
				res, err = c.Publish(ctx, pkg2)
				if step == "git-receive-pack" && class.MidBody() {
					require.NoError(t, err, "the push landed; only its answer broke")
					assert.Equal(t, catalogdef.Published, res.Status)
					gitAssertOnce(t, bare, "wired", "2.0.0")
					return
				}
				require.Error(t, err)
				t.Log(err)
				assert.ErrorIs(t, err, errdef.ErrExternal, "exit 3")
				if says, ok := faultproxy.GitSays[class]; ok {
					assert.Contains(t, err.Error(), says)
				}
				assert.Equal(t, before, head(t, bare), "nothing pushed")
				proxy.Inject()
				res, err = c.Publish(ctx, pkg2)
				require.NoError(t, err, "a re-run converges")
				assert.Equal(t, catalogdef.Published, res.Status)
				gitAssertOnce(t, bare, "wired", "2.0.0")
			})
		}
	}
}

// gitAssertOnce checks the branch holds the version's entry and archive once.
func gitAssertOnce(t *testing.T, bare, name, version string) {
	t.Helper()
	idx := show(t, bare, "index.yaml")
	assert.Equal(t, 1, strings.Count(idx, "- "+name+"-"+version+".tgz")+strings.Count(idx, "/"+name+"-"+version+".tgz"), "one index entry:\n%s", idx)
	tree := gittest.Git(t, bare, "ls-tree", "--name-only", "main")
	assert.Equal(t, 1, strings.Count(tree, name+"-"+version+".tgz\n"), tree)
}
