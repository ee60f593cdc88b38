package orb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/testcluster"
)

// distVersion is the version the tests release; the orb's install takes vX.Y.Z as a
// release to download.
const distVersion = "v0.0.0-orbtest"

var (
	distOnce sync.Once
	distDir  string // make dist's output for this machine's platform, served as a release
	distErr  error
	tmpRoot  string
)

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "chartship-orb-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// dist builds the release archive of this platform with scripts/dist (what `make dist`
// runs), once for all tests.
func dist(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the chartship release archive: not in -short")
	}
	distOnce.Do(func() {
		distDir = filepath.Join(tmpRoot, "releases", distVersion)
		cmd := exec.Command("../scripts/dist", distDir)
		cmd.Env = append(os.Environ(), "VERSION="+distVersion, "DIST_PLATFORMS="+runtime.GOOS+"/"+runtime.GOARCH)
		out, err := cmd.CombinedOutput()
		if err != nil {
			distErr = fmt.Errorf("scripts/dist: %w: %s", err, out)
		}
	})
	require.NoError(t, distErr)
	return distDir
}

// circleEnv is the environment of a CircleCI job on a machine executor, as far as the
// orb's scripts and chartship read it.
func circleEnv(t *testing.T, pathDirs ...string) []string {
	t.Helper()
	home := t.TempDir()
	return []string{
		"PATH=" + strings.Join(append(pathDirs, os.Getenv("PATH")), string(os.PathListSeparator)),
		"HOME=" + home, "TMPDIR=" + t.TempDir(),
		"CI=true", "CIRCLECI=true", "CIRCLE_PROJECT_REPONAME=hello", "CIRCLE_PROJECT_USERNAME=acme",
		"CIRCLE_BUILD_NUM=42", "CIRCLE_JOB=release",
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"), "HELM_REGISTRY_CONFIG=" + filepath.Join(home, "registry.json"),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=CircleCI", "GIT_AUTHOR_EMAIL=ci@example.invalid", "GIT_COMMITTER_NAME=CircleCI", "GIT_COMMITTER_EMAIL=ci@example.invalid",
		"GOFLAGS=" + os.Getenv("GOFLAGS"), "GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"),
	}
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// run runs an orb command's script as CircleCI does (bash -eo pipefail over the script)
// in dir with env plus its parameters.
func (r runStep) run(t *testing.T, dir string, env []string, args map[string]string) (stdout, stderr string, err error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), r.Command+".bash")
	require.NoError(t, os.WriteFile(f, []byte(r.Script), 0o644))
	cmd := exec.CommandContext(context.Background(), "/bin/bash", "-eo", "pipefail", f)
	cmd.Dir = dir
	cmd.Env = append(slices.Clone(env), r.environ(t, args)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	t.Logf("orb %s: %v\nstdout:\n%s\nstderr:\n%s", r.Command, err, o.String(), e.String())
	return o.String(), e.String(), err
}

// install runs the orb's install command against a local release server.
func install(t *testing.T, base string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bin")
	_, _, err := script(t, "install").run(t, t.TempDir(), circleEnv(t), map[string]string{
		"version": distVersion, "install-dir": bin, "download-url": base})
	require.NoError(t, err)
	return bin
}

func releaseServer(t *testing.T) string {
	t.Helper()
	dist(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(tmpRoot, "releases"))))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The install command downloads the pinned release and installs it only when the archive
// matches SHA256SUMS.
func TestOrbInstallVerifiesTheChecksum(t *testing.T) {
	base := releaseServer(t)
	bin := install(t, base)
	out, err := exec.Command(filepath.Join(bin, "chartship"), "--version").CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), distVersion)

	// A tampered archive and one missing from SHA256SUMS: nothing installed.
	name := "chartship_" + distVersion + "_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"
	data, err := os.ReadFile(filepath.Join(distDir, name))
	require.NoError(t, err)
	sums, err := os.ReadFile(filepath.Join(distDir, "SHA256SUMS"))
	require.NoError(t, err)
	for _, tc := range []struct{ version, archive, sums, want string }{
		{"v0.0.1-tampered", string(data) + "x", string(sums), "does not match its checksum"},
		{"v0.0.2-unlisted", string(data), "", "is not listed in"},
	} {
		dir := filepath.Join(tmpRoot, "releases", tc.version)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		renamed := strings.ReplaceAll(name, distVersion, tc.version)
		require.NoError(t, os.WriteFile(filepath.Join(dir, renamed), []byte(tc.archive), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(strings.ReplaceAll(tc.sums, distVersion, tc.version)), 0o644))
		target := filepath.Join(t.TempDir(), "bin")
		_, stderr, err := script(t, "install").run(t, t.TempDir(), circleEnv(t), map[string]string{
			"version": tc.version, "install-dir": target, "download-url": base})
		require.Error(t, err, tc.version)
		assert.Contains(t, stderr, tc.want)
		assert.NoFileExists(t, filepath.Join(target, "chartship"))
	}
}

// version: main is built with go install, which needs Go: without it, a clear error and
// nothing installed.
func TestOrbInstallFromSourceNeedsGo(t *testing.T) {
	target := filepath.Join(t.TempDir(), "bin")
	env := circleEnv(t)
	env[0] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
	if _, err := exec.LookPath("/usr/bin/go"); err == nil {
		t.Skip("/usr/bin/go exists: cannot run the install without Go")
	}
	_, stderr, err := script(t, "install").run(t, t.TempDir(), env, map[string]string{"version": "main", "install-dir": target})
	require.Error(t, err)
	assert.Contains(t, stderr, "needs the Go toolchain; pin a release")
	assert.NoFileExists(t, filepath.Join(target, "chartship"))
}

const gitopsApp = `apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata:
  name: hello
  namespace: org-acme
spec:
  catalog: chartship-oci
  name: hello
  version: 1.0.0
`

// The orb's commands, run as CircleCI runs them, against an in-process registry, git
// catalogs and a GitOps repository in bare repositories, and the test cluster: package and
// publish a tag, package the next tag and upgrade-test it over two shards (CircleCI's
// parallelism), publish it, bump the GitOps repository; then a dev build with release.
func TestOrbCommandsAgainstTheTestStack(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	bin := install(t, releaseServer(t))
	reg := registrytest.New(t)
	releaseCat, testCat, gitopsRepo := filepath.Join(t.TempDir(), "catalog.git"), filepath.Join(t.TempDir(), "test-catalog.git"), filepath.Join(t.TempDir(), "gitops.git")
	for _, bare := range []string{releaseCat, testCat, gitopsRepo} {
		gittest.InitBare(t, bare)
	}
	gittest.Seed(t, gitopsRepo, map[string]string{"apps/hello.yaml": gitopsApp}, "gitops")

	// The app repository: the chart under helm/hello without a README of its own, Giant
	// Swarm restrictions in its Chart.yaml, the README at the root.
	app := filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.CopyFS(filepath.Join(app, "helm", "hello"), os.DirFS("../testdata/charts/hello")))
	require.NoError(t, os.Remove(filepath.Join(app, "helm", "hello", "README.md")))
	chartYAML := filepath.Join(app, "helm", "hello", "Chart.yaml")
	cy, err := os.ReadFile(chartYAML)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(chartYAML, append(cy, "restrictions:\n  clusterSingleton: true\n"...), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(app, "README.md"), []byte("# hello, the app\n"), 0o644))
	cfg := "catalogs:\n" +
		"  - name: oci\n    oci: " + reg.Ref("charts") + "\n" +
		"  - name: catalog\n    git: git+file://" + releaseCat + "\n    indexURL: https://example.github.io/catalog/\n" +
		"  - name: test\n    git: git+file://" + testCat + "\n    test: true\n"
	require.NoError(t, os.WriteFile(filepath.Join(app, ".chartship.yaml"), []byte(cfg), 0o644))
	repo := newAppRepo(t, app, circleEnv(t, bin))
	git, commit := repo.git, repo.commit
	plainHTTP := map[string]string{"extra-args": "--plain-http"}
	ociVersions := func() []string {
		c, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
		require.NoError(t, err)
		vs, err := c.Versions(context.Background(), "hello")
		require.NoError(t, err)
		return vs
	}

	// v1.0.0: package and publish to the release catalogs of .chartship.yaml.
	e := commit("hello chart", "v1.0.0")
	_, _, err = script(t, "package").run(t, app, e, nil)
	require.NoError(t, err)
	var pkg struct{ Name, Version, Path string }
	data, err := os.ReadFile(filepath.Join(app, "build", "package.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &pkg))
	assert.Equal(t, "1.0.0", pkg.Version)
	_, _, err = script(t, "publish").run(t, app, e, plainHTTP)
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0"}, ociVersions())
	// Giant Swarm's -meta/: restrictions from the source Chart.yaml, the repository's README.
	var main map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(gittest.Git(t, releaseCat, "show", "main:hello-1.0.0.tgz-meta/main.yaml")), &main))
	assert.Equal(t, map[string]any{"clusterSingleton": true}, main["restrictions"])
	assert.Equal(t, "# hello, the app\n", gittest.Git(t, releaseCat, "show", "main:hello-1.0.0.tgz-meta/README.md"))

	// v1.1.0 on a fresh checkout: package, upgrade-test on two containers, publish, bump.
	require.NoError(t, os.RemoveAll(filepath.Join(app, "build")))
	e = append(commit("a change", "v1.1.0"), "KUBECONFIG="+kc, "CIRCLE_NODE_TOTAL=2")
	_, _, err = script(t, "package").run(t, app, e, nil)
	require.NoError(t, err)
	results := t.TempDir()
	var valuesArgs []string
	for _, v := range []string{"one", "two", "three"} {
		f := filepath.Join(t.TempDir(), v+"-values.yaml")
		require.NoError(t, os.WriteFile(f, []byte("replicaCount: 1\n"), 0o644))
		valuesArgs = append(valuesArgs, "--values", f)
	}
	var suites []string
	for node := range 2 {
		_, _, err := script(t, "upgrade-test").run(t, app, append(slices.Clone(e), "CIRCLE_NODE_INDEX="+strconv.Itoa(node)), map[string]string{
			"catalog": reg.Ref("charts"), "cluster": "kubeconfig", "results": results, "parallel": "3",
			"extra-args": "--plain-http --skip-tests --timeout 2m " + strings.Join(valuesArgs, " ")})
		require.NoError(t, err, "node %d", node)
		suites = append(suites, junitSuites(t, filepath.Join(results, "upgrade-test-"+strconv.Itoa(node)+".xml"))...)
		assert.FileExists(t, filepath.Join(results, "upgrade-test-"+strconv.Itoa(node)+".json"))
	}
	slices.Sort(suites)
	assert.Equal(t, []string{"one: 1.0.0 → 1.1.0", "three: 1.0.0 → 1.1.0", "two: 1.0.0 → 1.1.0"}, suites,
		"the two containers' JUnit files together hold each scenario once")
	_, _, err = script(t, "publish").run(t, app, e, plainHTTP)
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0", "1.1.0"}, ociVersions())
	_, _, err = script(t, "bump").run(t, app, e, map[string]string{"repos": "file://" + gitopsRepo, "push-to": "main", "pr": "false"})
	require.NoError(t, err)
	assert.Contains(t, gittest.Git(t, gitopsRepo, "show", "main:apps/hello.yaml"), "version: 1.1.0")

	// A dev build on a branch: release goes to the test catalog only (upgrade-tested from
	// 1.1.0 in the registry) and bumps nothing.
	git("checkout", "--quiet", "-b", "feature")
	e = append(commit("work in progress", ""), "KUBECONFIG="+kc)
	e = append(e, "CIRCLE_BRANCH=feature")
	_, _, err = script(t, "release").run(t, app, e, map[string]string{"results": results,
		"bump-repos": "file://" + gitopsRepo, "extra-args": "--plain-http --cluster kubeconfig --skip-tests --timeout 2m"})
	require.NoError(t, err)
	var rel struct {
		Version string `json:"version"`
	}
	data, err = os.ReadFile(filepath.Join(results, "release.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rel))
	assert.True(t, strings.HasPrefix(rel.Version, "1.1.1-"), "a pre-release of the next patch: %s", rel.Version)
	assert.Contains(t, gittest.Git(t, testCat, "show", "main:index.yaml"), rel.Version)
	assert.Equal(t, []string{"1.0.0", "1.1.0"}, ociVersions())
	assert.Contains(t, gittest.Git(t, gitopsRepo, "show", "main:apps/hello.yaml"), "version: 1.1.0")
	assert.FileExists(t, filepath.Join(results, "junit.xml"))
}

// appRepo is an app repository a CircleCI job checks out, worked on with git in
// the job's environment.
type appRepo struct {
	t   *testing.T
	dir string
	env []string
}

// newAppRepo makes dir (holding the app's files) a git repository on main.
func newAppRepo(t *testing.T, dir string, env []string) *appRepo {
	t.Helper()
	r := &appRepo{t: t, dir: dir, env: env}
	r.git("init", "--quiet", "--initial-branch=main")
	return r
}

func (r *appRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = r.dir, r.env
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// commit commits every file (and tags the commit when tag is not empty) and
// returns the job's environment for that commit on main.
func (r *appRepo) commit(msg, tag string) []string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "--quiet", "--allow-empty", "-m", msg)
	e := append(slices.Clone(r.env), "CIRCLE_SHA1="+r.git("rev-parse", "HEAD"), "CIRCLE_BRANCH=main", "CIRCLE_WORKING_DIRECTORY="+r.dir)
	if tag != "" {
		r.git("tag", tag)
		e = append(e, "CIRCLE_TAG="+tag)
	}
	return e
}

func junitSuites(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var names []string
	for _, part := range strings.Split(string(data), "<testsuite name=\"")[1:] {
		name, _, _ := strings.Cut(part, "\"")
		names = append(names, strings.ReplaceAll(name, "&#x2192;", "→"))
	}
	return names
}
