package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/githubtest"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
)

// envRunAsCLI makes the test binary run the CLI instead of the tests — its
// main, signal handling and exit code included: the tests that need a real
// process (killed, interrupted, in a terminal) start it as a child.
const envRunAsCLI = "CHARTSHIP_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envRunAsCLI) == "1" {
		os.Args[0] = "chartship"
		main() // exits
	}
	os.Exit(m.Run())
}

// killPoint is a wire event at which the publishing process is killed: the
// request's arrival (the request then never reaches the server) or its answer.
type killPoint struct {
	name   string
	method string
	path   string
	nth    int  // the nth matching request (1-based)
	done   bool // kill once the server answered, not on arrival
	// landed is the catalog already holding the package at the kill ("oci",
	// "git" or ""): the re-run must report it as already published.
	landed string
}

var killPoints = []killPoint{
	{name: "during the first blob upload", method: http.MethodPut, path: "/blobs/uploads/", nth: 1},
	{name: "between the blob uploads", method: http.MethodPut, path: "/blobs/uploads/", nth: 1, done: true},
	{name: "between blobs and manifest", method: http.MethodPut, path: "/manifests/", nth: 1},
	{name: "after the tag, before its read-back", method: http.MethodPut, path: "/manifests/", nth: 1, done: true, landed: "oci"},
	{name: "during the clone", method: http.MethodPost, path: "/git-upload-pack", nth: 2},
	{name: "between commit and push", method: http.MethodPost, path: "/git-receive-pack", nth: 1},
	{name: "after the push, before it is reported", method: http.MethodPost, path: "/git-receive-pack", nth: 1, done: true, landed: "git"},
}

// TestKillAnywhereRerunConverges SIGKILLs `chartship publish` (to a registry
// and a git catalog, both behind the fault proxy) at each kill point, then
// runs it again: it succeeds, says which catalog it finished and which already
// held the package, and the catalogs hold what one clean run leaves — the
// entry once, the archive once, one commit, one tag.
func TestKillAnywhereRerunConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	isolateClientConfig(t)
	pkg := packageHello(t, "1.0.0", "")
	for _, kp := range killPoints {
		t.Run(kp.name, func(t *testing.T) {
			reg := registrytest.New(t)
			regProxy := faultproxy.New(t, reg.URL)
			srv := gittest.NewServer(t)
			bare := seedCatalogRepo(t, srv)
			gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
			gitProxy := faultproxy.New(t, srv.URL)
			args := []string{"--output", "json", "publish", pkg,
				"--to", "oci://" + regProxy.Host + "/kill", "--to", "git+" + gitProxy.URL + "/catalog.git",
				"--plain-http", "--index-url", "https://example.github.io/catalog/"}

			runKilled(t, kp, args, regProxy, gitProxy)

			// the re-run finishes the job and says what it found done
			rerun := cliProcess(t, args...)
			stdout, err := rerun.Output()
			require.NoError(t, err, "re-run: %s", stderrOf(err))
			var res []catalog.Result
			require.NoError(t, json.Unmarshal(stdout, &res), string(stdout))
			require.Len(t, res, 2)
			for _, r := range res {
				if catalogKind(r) == kp.landed {
					assert.Equal(t, catalog.AlreadyPublished, r.Status, "%s held the package before the re-run", r.Catalog)
				} else {
					assert.Contains(t, []catalog.Status{catalog.Published, catalog.AlreadyPublished}, r.Status, r.Catalog)
				}
			}
			killAssertConverged(t, reg, bare, pkg)
		})
	}
}

// cliProcess is the test binary run as the CLI, in a temporary directory of
// its own (a killed process leaves its work directories behind there).
func cliProcess(t *testing.T, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunAsCLI+"=1", "TMPDIR="+t.TempDir())
	// its own process group, which killAt kills whole: the git processes it
	// started die with it, as in a cancelled CI job, instead of finishing a
	// push on their own while the test looks or the re-run runs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// killAssertConverged checks the catalogs hold what one clean publish leaves.
func killAssertConverged(t *testing.T, reg *registrytest.Registry, bare, pkgPath string) {
	t.Helper()
	// OCI: one tag, holding the chart
	resp, err := reg.Client().Get(reg.URL + "/v2/kill/hello/tags/list")
	require.NoError(t, err)
	defer resp.Body.Close()
	var tags struct{ Tags []string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tags))
	assert.Equal(t, []string{"1.0.0"}, tags.Tags, "one tag, none dangling")
	cat, err := oci.Open(reg.Ref("kill"), oci.Options{PlainHTTP: true})
	require.NoError(t, err)
	path, err := cat.Fetch(context.Background(), "hello", "1.0.0", t.TempDir())
	require.NoError(t, err)
	want, err := os.ReadFile(pkgPath)
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, got, "the registry holds the package's bytes")

	// git: the entry once, the archive once, one publish commit
	idx := gittest.Git(t, bare, "show", "main:index.yaml")
	assert.Equal(t, 1, strings.Count(idx, "hello-1.0.0.tgz"), idx)
	tree := gittest.Git(t, bare, "ls-tree", "--name-only", "main")
	assert.Equal(t, 1, strings.Count(tree, "hello-1.0.0.tgz\n"), tree)
	assert.Equal(t, want, []byte(gittest.Git(t, bare, "show", "main:hello-1.0.0.tgz")))
	log := gittest.Git(t, bare, "log", "--format=%s", "main")
	assert.Equal(t, 1, strings.Count(log, "Publish hello 1.0.0"), log)
}

// runKilled runs the CLI with args, SIGKILLs it at kp as the proxies see it,
// and requires that it died there; the proxies' hooks are off again after.
func runKilled(t *testing.T, kp killPoint, args []string, proxies ...*faultproxy.Proxy) {
	t.Helper()
	var mu sync.Mutex
	var child *exec.Cmd
	hook, killed := killAt(kp, &mu, &child)
	for _, p := range proxies {
		p.OnEvent(hook)
	}
	mu.Lock()
	child = cliProcess(t, args...)
	var errOut bytes.Buffer
	child.Stderr = &errOut
	err := child.Start()
	mu.Unlock()
	require.NoError(t, err)
	err = child.Wait()
	require.True(t, killed(), "the kill point was reached: %v\n%s", err, errOut.String())
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "killed")
	for _, p := range proxies {
		p.OnEvent(nil)
	}
}

// catalogKind is the kind of catalog r is about: "oci" or "git".
func catalogKind(r catalog.Result) string {
	if strings.HasPrefix(r.Catalog, "oci://") {
		return "oci"
	}
	return "git"
}

// seedCatalogRepo creates catalog.git on srv with one commit (a README) and
// returns its bare directory.
func seedCatalogRepo(t *testing.T, srv *gittest.Server) string {
	t.Helper()
	srv.NewRepo(t, "catalog.git")
	bare := srv.Dir("catalog.git")
	gittest.Seed(t, bare, map[string]string{"README.md": "catalog\n"}, "init")
	return bare
}

// isolateClientConfig keeps the user's registry logins, OCI settings and git
// configuration out of the CLI runs of t.
func isolateClientConfig(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", t.TempDir()+"/config.json")
	isolateGitConfig(t)
}

// isolateGitConfig keeps the global and system git configuration out of t.
func isolateGitConfig(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
}

// setGitIdentity gives t's commits a fixed author and committer.
func setGitIdentity(t *testing.T) {
	for _, k := range []string{"GIT_AUTHOR", "GIT_COMMITTER"} {
		t.Setenv(k+"_NAME", "chartship test")
		t.Setenv(k+"_EMAIL", "test@chartship.invalid")
	}
}

// killAt returns a proxy hook that SIGKILLs *child at kp, and reports whether it did.
func killAt(kp killPoint, mu *sync.Mutex, child **exec.Cmd) (func(faultproxy.Event) bool, func() bool) {
	seen, killed := 0, false
	hook := func(e faultproxy.Event) bool {
		if e.Method != kp.method || !strings.Contains(e.Path, kp.path) || e.Done != kp.done {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		seen++
		if seen != kp.nth || *child == nil || killed {
			return false
		}
		killed = true
		// SIGKILL to the process group: no deferred cleanup, no last words, no
		// git child left to finish the push
		_ = syscall.Kill(-(*child).Process.Pid, syscall.SIGKILL)
		return true
	}
	return hook, func() bool { mu.Lock(); defer mu.Unlock(); return killed }
}

// TestKillBumpRerunConverges SIGKILLs `chartship bump --pr` during the clone,
// after the push of the bump branch and after the pull request is opened; the
// re-run ends with one bump commit on the branch and one pull request.
func TestKillBumpRerunConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	isolateGitConfig(t)
	setGitIdentity(t)
	for _, kp := range []killPoint{
		{name: "during the clone", method: http.MethodPost, path: "/git-upload-pack", nth: 1},
		{name: "after the push, before the pull request", method: http.MethodPost, path: "/git-receive-pack", nth: 1, done: true},
		{name: "after the pull request is opened", method: http.MethodPost, path: "/pulls", nth: 1, done: true},
	} {
		t.Run(kp.name, func(t *testing.T) {
			srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", "ghs_token"))
			seedGolden(t, srv, "acme/fleet-a.git", "app-marker")
			gh := githubtest.New(t, srv.Root, "ghs_token")
			gitProxy := faultproxy.New(t, srv.URL)
			ghProxy := faultproxy.New(t, gh.URL)
			t.Setenv("GITHUB_TOKEN", "ghs_token")
			args := []string{"--output", "json", "bump", "--chart", "hello-world", "--version", "1.3.0",
				"--available", "1.2.7,1.2.10", "--repo", "git+" + gitProxy.URL + "/acme/fleet-a.git", "--pr", "--github-api", ghProxy.URL}

			runKilled(t, kp, args, gitProxy, ghProxy)

			out, err := cliProcess(t, args...).Output()
			require.NoError(t, err, "re-run: %s", stderrOf(err))
			assert.Contains(t, string(out), "pull request", "the re-run says what it did")
			assert.Len(t, gh.Pulls("acme", "fleet-a"), 1, "one pull request")
			bare := srv.Dir("acme/fleet-a.git")
			n := strings.TrimSpace(gittest.Git(t, bare, "rev-list", "--count", "main..chartship/bump-hello-world-1.3.0"))
			assert.Equal(t, "1", n, "one bump commit on the branch")
		})
	}
}
