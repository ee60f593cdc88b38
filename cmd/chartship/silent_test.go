package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/testcluster"
	"github.com/chartship/chartship/upgradetest"
)

// taggedHello is the hello chart committed in a new repository named hello.
func taggedHello(t *testing.T, tags ...string) string {
	t.Helper()
	clearCIEnv(t)
	dir := helloCopy(t, "hello")
	gittest.Git(t, dir, "init", "--quiet", "--initial-branch=main")
	gittest.Git(t, dir, "add", "-A")
	gittest.Git(t, dir, "commit", "--quiet", "-m", "hello")
	for _, tag := range tags {
		gittest.Git(t, dir, "tag", tag)
	}
	return dir
}

// TestPackageNonSemverTag: HEAD tagged v1.2 fails (exit 1) naming the tag; it used to
// become a dev build, exit 0, for the test catalog.
func TestPackageNonSemverTag(t *testing.T) {
	dir := taggedHello(t, "v1.2")
	dest := t.TempDir()
	code, stdout, stderr := chartship(t, "package", dir, "-d", dest)
	assert.Equal(t, exitUsage, code, stdout)
	assert.Contains(t, stderr, "HEAD is tagged v1.2")
	assert.Contains(t, stderr, "git tag v1.2.0")
	entries, _ := os.ReadDir(dest)
	assert.Empty(t, entries)

	// the same through release --dry-run: no plan for a dev build
	code, _, stderr = chartship(t, "release", dir, "--dry-run", "--skip-upgrade-test", "--to", "oci://registry.example/charts")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "HEAD is tagged v1.2")
}

// TestPackageDirtyReleaseTag: uncommitted changes on a release tag are refused
// unless --allow-dirty; Chart.yaml's other version is said, not silently replaced.
func TestPackageDirtyReleaseTag(t *testing.T) {
	dir := taggedHello(t, "v1.4.0")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "templates", "NOTES.txt"), []byte("not committed\n"), 0o644))
	dest := t.TempDir()
	code, _, stderr := chartship(t, "package", dir, "-d", dest)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "HEAD is on release tag v1.4.0 but")
	assert.Contains(t, stderr, "--allow-dirty")
	entries, _ := os.ReadDir(dest)
	assert.Empty(t, entries)

	code, stdout, stderr := chartship(t, "package", dir, "-d", dest, "--allow-dirty")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Packaged hello 1.4.0 (version from tag v1.4.0)")
	assert.Contains(t, stderr, "uncommitted changes")
	assert.Contains(t, stderr, "says version 0.1.0, the tag v1.4.0 says 1.4.0: packaging 1.4.0 (the tag wins)")
}

// TestBumpFindsNothing: a mistyped chart name is "no references to chart greter in
// REPO", exit 1 — not "up to date", exit 0 — unless --allow-none.
func TestBumpFindsNothing(t *testing.T) {
	srv := gittest.NewServer(t)
	fleet := seedGolden(t, srv, "acme/fleet.git", "app-marker")

	for _, dry := range []bool{true, false} {
		args := []string{"bump", "--chart", "greter", "--version", "1.3.0", "--repo", "git+" + fleet}
		if dry {
			args = append(args, "--dry-run")
		}
		code, stdout, stderr := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "dry run %v: %s", dry, stdout)
		assert.Contains(t, stderr, "no references to chart greter in ")
		assert.Contains(t, stdout, ": no references")
		assert.NotContains(t, stdout, "up to date")

		code, stdout, stderr = runCLI(t, append(args, "--allow-none")...)
		assert.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, ": no references")
	}
	// the right name still bumps
	code, stdout, stderr := runCLI(t, "bump", "--chart", "hello-world", "--version", "1.3.0", "--repo", "git+"+fleet, "--dry-run")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "→ 1.3.0")
}

// TestBumpZeroMajorIsBreaking: one rule for "breaking" (internal/compat): for 0.y.z
// the minor breaks, so same-major moves 0.0.9 to 0.0.10, never to 0.1.0 or 0.2.0 —
// the same versions the upgrade test calls major.
func TestBumpZeroMajorIsBreaking(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hello.yaml"), []byte(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: hello, namespace: apps}
spec:
  chart:
    spec: {chart: hello-world, version: 0.0.9, sourceRef: {kind: HelmRepository, name: charts}}
`), 0o644))
	code, stdout, stderr := runCLI(t, "bump", "--chart", "hello-world", "--version", "0.2.0", "--available", "0.0.10,0.1.0", "--repo", dir, "--dry-run")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "hello.yaml:6  0.0.9 → 0.0.10  [--policy same-major: semver >=0.0.9 <0.1.0]")
	assert.True(t, upgradetest.IsMajorUpgrade("0.0.9", "0.1.0"))
	assert.True(t, upgradetest.IsMajorUpgrade("0.1.0", "0.2.0"))
	assert.False(t, upgradetest.IsMajorUpgrade("0.0.9", "0.0.10"))
}

// TestReleaseNamesWhereFromVersionsCameFrom: after a publish that reached the git
// catalog but not the registry, the next release says which catalog its
// from-version came from and warns that the release catalogs disagree.
func TestReleaseNamesWhereFromVersionsCameFrom(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	f := newReleaseFixture(t)
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	commit := func(msg string) {
		gittest.Git(t, f.app, "add", "-A")
		gittest.Git(t, f.app, "commit", "--quiet", "--allow-empty", "-m", msg)
	}
	commit("hello chart")
	gittest.Git(t, f.app, "tag", "v1.0.0")
	dest := t.TempDir()
	code, _, stderr := chartship(t, "package", f.app, "-d", dest)
	require.Equal(t, exitOK, code, stderr)
	// half a publish: the git catalog only
	code, _, stderr = chartship(t, "publish", filepath.Join(dest, "hello-1.0.0.tgz"), "--to", "catalog", "--config-dir", f.app)
	require.Equal(t, exitOK, code, stderr)

	commit("a change")
	gittest.Git(t, f.app, "tag", "v1.1.0")
	code, stdout, stderr := chartship(t, "release", f.app, "--destination", t.TempDir(), "--plain-http",
		"--kubeconfig", kc, "--timeout", "2m", "--skip-tests", "--from-catalog", "catalog")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "from 1.0.0 in git+file://"+f.releaseCat)
	want := "the release catalogs disagree on the newest release of hello: git+file://" + f.releaseCat + " (catalog) has 1.0.0, " + f.reg.Ref("charts") + " (oci) has none"
	assert.Contains(t, stdout, "warning    "+want)
	assert.Contains(t, stderr, want)
}

// TestPublishSummaryNamesCatalogs: the summary names each catalog (release or test,
// its name and URL) and the OCI manifest digest, in text and JSON.
func TestPublishSummaryNamesCatalogs(t *testing.T) {
	f := newReleaseFixture(t)
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	dest := t.TempDir()
	code, _, stderr := chartship(t, "package", f.app, "-d", dest, "--version", "1.0.0")
	require.Equal(t, exitOK, code, stderr)
	pkg := filepath.Join(dest, "hello-1.0.0.tgz")

	code, stdout, stderr := chartship(t, "publish", pkg, "--config-dir", f.app, "--plain-http")
	require.Equal(t, exitOK, code, stderr)
	ref := strings.TrimPrefix(f.reg.Ref("charts"), "oci://")
	host, _, _ := strings.Cut(ref, "/")
	req, err := http.NewRequest(http.MethodHead, "http://"+host+"/v2/charts/hello/manifests/1.0.0", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	manifest := resp.Header.Get("Docker-Content-Digest")
	require.NotEmpty(t, manifest)
	assert.Contains(t, stdout, `in release catalog "oci", `+f.reg.Ref("charts")+", manifest "+manifest)
	assert.Contains(t, stdout, `in release catalog "catalog", git+file://`+f.releaseCat)

	code, stdout, stderr = chartship(t, "-o", "json", "publish", pkg, "--to", "test", "--config-dir", f.app)
	require.Equal(t, exitOK, code, stderr)
	var out []struct {
		Name, Catalog, Manifest string
		Test                    bool
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	require.Len(t, out, 1)
	assert.Equal(t, "test", out[0].Name)
	assert.True(t, out[0].Test)
	assert.Empty(t, out[0].Manifest, "a git catalog has no manifest")
}
