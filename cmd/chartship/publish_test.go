package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
)

// packageHello packages testdata/charts/hello at version with the real CLI and
// returns the archive's path.
func packageHello(t *testing.T, version, description string) string {
	t.Helper()
	src := t.TempDir()
	require.NoError(t, os.CopyFS(src, os.DirFS("../../testdata/charts/hello")))
	if description != "" {
		p := filepath.Join(src, "Chart.yaml")
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, []byte(string(b)+"\n# "+description+"\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(src, "templates", "NOTES.txt"), []byte(description), 0o644))
	}
	dest := t.TempDir()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"chartship", "package", src, "--version", version, "--repo-name", "hello", "--destination", dest, "-o", "json"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	var res packageResult
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	return res.Path
}

func publishCLI(t *testing.T, args ...string) (int, []catalog.Result, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"chartship", "--output", "json", "publish"}, args...), &out, &errOut)
	var res []catalog.Result
	if code == 0 {
		require.NoError(t, json.Unmarshal(out.Bytes(), &res), out.String())
	}
	return code, res, errOut.String()
}

func TestPublishToOCIAndGitCatalogsInOneRun(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", filepath.Join(t.TempDir(), "config.json"))
	t.Setenv("CHARTSHIP_REGISTRY_USERNAME", "ci")
	t.Setenv("CHARTSHIP_REGISTRY_PASSWORD", "registry-secret")
	t.Setenv("CHARTSHIP_GIT_TOKEN", "git-secret")
	reg := registrytest.New(t, registrytest.WithHtpasswd("ci", "registry-secret"))
	git := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", "git-secret"))
	gitURL := git.NewRepo(t, "catalog.git")
	gittest.Seed(t, git.Dir("catalog.git"), map[string]string{"README.md": "catalog\n"}, "init")

	pkg := packageHello(t, "1.4.0", "")
	to := []string{pkg, "--to", reg.Ref("charts"), "--to", "git+" + gitURL, "--ca-file", reg.CAFile, "--index-url", "https://example.github.io/catalog/"}

	code, res, stderr := publishCLI(t, to...)
	require.Equal(t, 0, code, stderr)
	require.Len(t, res, 2)
	for _, r := range res {
		assert.Equal(t, catalog.Published, r.Status, r.Catalog)
		assert.Equal(t, "hello", r.Chart)
		assert.Equal(t, "1.4.0", r.Version)
	}

	// Real outcomes: the tag in the registry, the entry in the index.
	oci, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{CAFile: reg.CAFile, Username: "ci", Password: "registry-secret"}})
	require.NoError(t, err)
	versions, err := oci.Versions(context.Background(), "hello")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.4.0"}, versions)
	idxBytes := gittest.Git(t, git.Dir("catalog.git"), "show", "main:index.yaml")
	idx, err := repo.LoadIndexFile(writeTemp(t, idxBytes))
	require.NoError(t, err)
	cv, err := idx.Get("hello", "1.4.0")
	require.NoError(t, err)
	assert.Equal(t, []string{"https://example.github.io/catalog/hello-1.4.0.tgz"}, cv.URLs)
	tree := gittest.Git(t, git.Dir("catalog.git"), "ls-tree", "-r", "--name-only", "main")
	assert.Contains(t, tree, "hello-1.4.0.tgz\n")
	assert.Contains(t, tree, "hello-1.4.0.tgz-meta/main.yaml")

	// A re-run (a retried CI job) is a no-op on both catalogs.
	head := gittest.Git(t, git.Dir("catalog.git"), "rev-parse", "main")
	code, res, stderr = publishCLI(t, to...)
	require.Equal(t, 0, code, stderr)
	for _, r := range res {
		assert.Equal(t, catalog.AlreadyPublished, r.Status, r.Catalog)
	}
	assert.Equal(t, head, gittest.Git(t, git.Dir("catalog.git"), "rev-parse", "main"))

	// Different bytes under the released version: refused everywhere, exit 2,
	// nothing changed, and no secret in what was printed.
	changed := packageHello(t, "1.4.0", "a different build")
	to[0] = changed
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"chartship", "publish"}, to...), &out, &errOut)
	assert.Equal(t, exitCheck, code, errOut.String())
	assert.Contains(t, errOut.String(), "different content")
	assert.Equal(t, head, gittest.Git(t, git.Dir("catalog.git"), "rev-parse", "main"))
	for _, secret := range []string{"registry-secret", "git-secret"} {
		assert.NotContains(t, out.String()+errOut.String(), secret)
	}
}

func TestPublishChoosesCatalogsFromConfig(t *testing.T) {
	ociClearEnv(t)
	releaseCat := filepath.Join(t.TempDir(), "release.git")
	testCat := filepath.Join(t.TempDir(), "test.git")
	for _, bare := range []string{releaseCat, testCat} {
		gittest.InitBare(t, bare)
		gittest.Seed(t, bare, map[string]string{"README.md": "x\n"}, "init")
	}
	cfgDir := t.TempDir()
	cfg := "catalogs:\n  - name: release\n    git: git+file://" + releaseCat + "\n    indexURL: https://example.org/release/\n  - name: test\n    git: git+file://" + testCat + "\n    test: true\n"
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, ".chartship.yaml"), []byte(cfg), 0o644))

	code, res, stderr := publishCLI(t, packageHello(t, "2.0.0", ""), "--config-dir", cfgDir)
	require.Equal(t, 0, code, stderr)
	require.Len(t, res, 1)
	assert.Contains(t, gittest.Git(t, releaseCat, "show", "main:index.yaml"), "https://example.org/release/hello-2.0.0.tgz")

	code, _, stderr = publishCLI(t, packageHello(t, "2.0.1-dev.main.20261126101010.habcdef0", ""), "--config-dir", cfgDir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, gittest.Git(t, testCat, "show", "main:index.yaml"), "2.0.1-dev.main.20261126101010.habcdef0")
	assert.NotContains(t, gittest.Git(t, releaseCat, "show", "main:index.yaml"), "dev", "dev builds never reach a release catalog")

	code, _, stderr = publishCLI(t, packageHello(t, "2.0.0", ""), "--config-dir", cfgDir, "--to", "nope")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `"nope"`)

	code, _, stderr = publishCLI(t)
	assert.Equal(t, exitUsage, code)
	assert.True(t, strings.Contains(stderr, "give the package"), stderr)
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// TestPublishExitCodeIsTheMostSeriousFailure publishes to two catalogs that
// both fail: one refuses the input (a read-only Helm repository: exit 1), one
// is unreachable (exit 3). The exit code is 3 whatever the order of --to.
func TestPublishExitCodeIsTheMostSeriousFailure(t *testing.T) {
	pkg := packageHello(t, "1.4.0", "")
	readOnly := "https://charts.example.invalid/"
	unreachable := "git+file://" + filepath.Join(t.TempDir(), "missing.git")
	for _, to := range [][]string{{readOnly, unreachable}, {unreachable, readOnly}} {
		code, _, stderr := publishCLI(t, pkg, "--to", to[0], "--to", to[1], "--retries", "0")
		assert.Equal(t, exitExternal, code, "--to %v: %s", to, stderr)
		assert.Contains(t, stderr, "read-only")
		assert.Contains(t, stderr, "missing.git")
	}
}
