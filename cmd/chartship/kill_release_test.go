package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/githubtest"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
)

// TestKillReleaseRerunConverges SIGKILLs `chartship release` (no upgrade test;
// an OCI registry and a git catalog, a GitOps bump with a pull request, all
// behind fault proxies) during the OCI push, around the git catalog's push and
// during the bump (before and after the pull request is opened), then runs the same release again: it succeeds, says what it
// finished and what was already done, and the catalogs, the GitOps repository
// and the GitHub double hold what one clean release leaves.
func TestKillReleaseRerunConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	isolateClientConfig(t)
	setGitIdentity(t)
	t.Setenv("SOURCE_DATE_EPOCH", "")
	t.Setenv("GITHUB_TOKEN", "ghs_token")
	app := taggedHello(t, "v1.0.0")

	// at is the proxy the kill point watches: "oci", "git" (the catalog),
	// "gitops" or "github".
	for _, c := range []struct {
		killPoint
		at string
		pr string // what the re-run does to the pull request
	}{
		{killPoint{name: "between blobs and manifest", method: http.MethodPut, path: "/manifests/", nth: 1}, "oci", "opened"},
		{killPoint{name: "between catalog commit and push", method: http.MethodPost, path: "/git-receive-pack", nth: 1}, "git", "opened"},
		{killPoint{name: "after the catalog push", method: http.MethodPost, path: "/git-receive-pack", nth: 1, done: true, landed: "git"}, "git", "opened"},
		{killPoint{name: "during the bump, after its push", method: http.MethodPost, path: "/git-receive-pack", nth: 1, done: true}, "gitops", "opened"},
		{killPoint{name: "during the bump, before the pull request", method: http.MethodPost, path: "/pulls", nth: 1}, "github", "opened"},
		{killPoint{name: "after the pull request is opened", method: http.MethodPost, path: "/pulls", nth: 1, done: true}, "github", "updated"},
	} {
		kp := c.killPoint
		t.Run(kp.name, func(t *testing.T) {
			reg := registrytest.New(t)
			regProxy := faultproxy.New(t, reg.URL)
			srv := gittest.NewServer(t)
			bare := seedCatalogRepo(t, srv)
			gitProxy := faultproxy.New(t, srv.URL)
			ops := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", "ghs_token"))
			ops.NewRepo(t, "acme/fleet-a.git")
			opsBare := ops.Dir("acme/fleet-a.git")
			gittest.Seed(t, opsBare, map[string]string{"apps/hello.yaml": gitopsApp}, "gitops")
			gh := githubtest.New(t, ops.Root, "ghs_token")
			opsProxy := faultproxy.New(t, ops.URL)
			ghProxy := faultproxy.New(t, gh.URL)
			proxies := map[string]*faultproxy.Proxy{"oci": regProxy, "git": gitProxy, "gitops": opsProxy, "github": ghProxy}
			args := func(dest string) []string {
				return []string{"--output", "json", "--log-format", "plain", "release", app,
					"--destination", dest, "--plain-http", "--skip-upgrade-test",
					"--to", "oci://" + regProxy.Host + "/kill", "--to", "git+" + gitProxy.URL + "/catalog.git",
					"--index-url", "https://example.github.io/catalog/",
					"--bump-repo", "git+" + opsProxy.URL + "/acme/fleet-a.git", "--bump-pr", "--github-api", ghProxy.URL}
			}

			first := t.TempDir()
			runKilled(t, kp, args(first), proxies[c.at])
			firstPkg := filepath.Join(first, "hello-1.0.0.tgz")
			require.FileExists(t, firstPkg, "the first run packaged the chart before its push")

			stdout, err := cliProcess(t, args(t.TempDir())...).Output()
			require.NoError(t, err, "re-run: %s", stderrOf(err))
			var res struct {
				Version   string
				Published []catalog.Result
				Bumped    []*gitops.Result
			}
			require.NoError(t, json.Unmarshal(stdout, &res), string(stdout))
			require.Equal(t, "1.0.0", res.Version)
			require.Len(t, res.Published, 2, string(stdout))
			for _, p := range res.Published {
				kind := catalogKind(p)
				switch {
				case kind == kp.landed || c.at == "gitops" || c.at == "github":
					assert.Equal(t, catalog.AlreadyPublished, p.Status, "%s held the package before the re-run", p.Catalog)
				case kind == c.at:
					assert.Equal(t, catalog.Published, p.Status, "the re-run finished %s", p.Catalog)
				default:
					assert.Contains(t, []catalog.Status{catalog.Published, catalog.AlreadyPublished}, p.Status, p.Catalog)
				}
			}
			require.Len(t, res.Bumped, 1, string(stdout))
			assert.Equal(t, gitops.StatusPR+" "+c.pr, res.Bumped[0].Status, "what the re-run did to the pull request")
			require.NotNil(t, res.Bumped[0].PullRequest, string(stdout))

			killAssertConverged(t, reg, bare, firstPkg) // the first run's bytes, once in each catalog
			assert.Len(t, gh.Pulls("acme", "fleet-a"), 1, "one pull request")
			n := strings.TrimSpace(gittest.Git(t, opsBare, "rev-list", "--count", "main..chartship/bump-hello-1.0.0"))
			assert.Equal(t, "1", n, "one bump commit on the branch")
			assert.Contains(t, gittest.Git(t, opsBare, "show", "chartship/bump-hello-1.0.0:apps/hello.yaml"), "version: 1.0.0 #")
		})
	}
}
