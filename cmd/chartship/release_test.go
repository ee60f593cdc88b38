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

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/testcluster"
)

const gitopsApp = `apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: hello, namespace: flux-system}
spec:
  imageRepositoryRef: {name: hello}
  policy: {semver: {range: '>=1.0.0 <2.0.0'}}
---
apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata:
  name: hello
  namespace: org-acme
spec:
  catalog: chartship-oci
  name: hello
  version: 0.9.0 # {"$imagepolicy": "flux-system:hello:tag"}
`

// releaseFixture is an app repository around the sample chart, named after it,
// whose .chartship.yaml names an OCI registry and a git catalog (release) and
// a git test catalog, and a GitOps repository running the chart.
type releaseFixture struct {
	reg                                  *registrytest.Registry
	releaseCat, testCat, gitopsRepo, app string
}

func newReleaseFixture(t *testing.T) releaseFixture {
	t.Helper()
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", filepath.Join(t.TempDir(), "config.json"))
	for _, k := range []string{"CIRCLE_BRANCH", "CIRCLE_PROJECT_REPONAME", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "GITHUB_REPOSITORY", "SOURCE_DATE_EPOCH"} {
		t.Setenv(k, "")
	}
	f := releaseFixture{
		reg:        registrytest.New(t),
		releaseCat: filepath.Join(t.TempDir(), "catalog.git"),
		testCat:    filepath.Join(t.TempDir(), "test-catalog.git"),
		gitopsRepo: filepath.Join(t.TempDir(), "gitops.git"),
		app:        filepath.Join(t.TempDir(), "hello"),
	}
	for _, bare := range []string{f.releaseCat, f.testCat, f.gitopsRepo} {
		gittest.InitBare(t, bare)
	}
	gittest.Seed(t, f.gitopsRepo, map[string]string{"apps/hello.yaml": gitopsApp}, "gitops")
	require.NoError(t, os.CopyFS(filepath.Join(f.app, "helm", "hello"), os.DirFS("../../testdata/charts/hello")))
	cfg := "catalogs:\n" +
		"  - name: oci\n    oci: " + f.reg.Ref("charts") + "\n" +
		"  - name: catalog\n    git: git+file://" + f.releaseCat + "\n    indexURL: https://example.github.io/catalog/\n" +
		"  - name: test\n    git: git+file://" + f.testCat + "\n    test: true\n"
	require.NoError(t, os.WriteFile(filepath.Join(f.app, ".chartship.yaml"), []byte(cfg), 0o644))
	gittest.Git(t, "", "init", "--quiet", "--initial-branch=main", f.app)
	return f
}

// TestReleaseEndToEnd releases the sample chart from a real git repository
// through every stage: package from the tag, upgrade test in the test cluster
// from the released version in the OCI registry, publish to the registry and a
// git catalog, bump a GitOps repository. Then a dev build goes to the test
// catalog only, and a release that breaks the upgrade is never published.
func TestReleaseEndToEnd(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	f := newReleaseFixture(t)
	reg, releaseCat, testCat, gitopsRepo, app := f.reg, f.releaseCat, f.testCat, f.gitopsRepo, f.app
	commit := func(msg string) {
		gittest.Git(t, app, "add", "-A")
		gittest.Git(t, app, "commit", "--quiet", "--allow-empty", "-m", msg)
	}
	commit("hello chart")
	gittest.Git(t, app, "tag", "v1.0.0")

	release := func(extra ...string) (int, map[string]any, string) {
		t.Helper()
		args := append([]string{"chartship", "--output", "json", "--log-format", "plain", "release", app,
			"--destination", filepath.Join(t.TempDir(), "build"), "--plain-http",
			"--cluster", "kubeconfig", "--kubeconfig", kc, "--timeout", "2m", "--skip-tests",
			"--bump-repo", "file://" + gitopsRepo, "--bump-push-to", "main"}, extra...)
		var out, errOut bytes.Buffer
		t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
		code := run(context.Background(), args, &out, &errOut)
		var res map[string]any
		_ = json.Unmarshal(out.Bytes(), &res)
		return code, res, errOut.String()
	}
	ociVersions := func() []string {
		c, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
		require.NoError(t, err)
		vs, err := c.Versions(context.Background(), "hello")
		require.NoError(t, err)
		return vs
	}
	appVersion := func() string {
		out := gittest.Git(t, gitopsRepo, "show", "main:apps/hello.yaml")
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "$imagepolicy") {
				return strings.Fields(l)[1]
			}
		}
		return ""
	}
	t.Setenv("GIT_AUTHOR_NAME", "chartship test")
	t.Setenv("GIT_AUTHOR_EMAIL", "test@chartship.invalid")
	t.Setenv("GIT_COMMITTER_NAME", "chartship test")
	t.Setenv("GIT_COMMITTER_EMAIL", "test@chartship.invalid")

	// 1. The first release: nothing released yet, so an install test only.
	code, res, stderr := release()
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "1.0.0", res["version"])
	assert.Equal(t, true, res["upgradeTest"].(map[string]any)["firstRelease"])
	assert.Len(t, res["published"], 2)
	assert.Equal(t, []string{"1.0.0"}, ociVersions())
	assert.Contains(t, gittest.Git(t, releaseCat, "show", "main:index.yaml"), "https://example.github.io/catalog/hello-1.0.0.tgz")
	assert.Equal(t, "1.0.0", appVersion())

	// 2. A new release is upgrade-tested from 1.0.0, taken from the registry.
	commit("a change")
	gittest.Git(t, app, "tag", "v1.1.0")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, res, stderr = release("--junit", junit)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, []any{"1.0.0"}, res["upgradeTest"].(map[string]any)["from"])
	assert.Equal(t, true, res["upgradeTest"].(map[string]any)["passed"])
	assert.Equal(t, []string{"1.0.0", "1.1.0"}, ociVersions())
	assert.Equal(t, "1.1.0", appVersion())
	assert.FileExists(t, junit)
	// The upgrade test's result document travels into the catalog's metadata.
	var doc struct {
		From   []string `json:"from"`
		To     string   `json:"to"`
		Passed bool     `json:"passed"`
	}
	require.NoError(t, json.Unmarshal([]byte(gittest.Git(t, releaseCat, "show", "main:hello-1.1.0.tgz-meta/upgrade-test.json")), &doc))
	assert.Equal(t, []string{"1.0.0"}, doc.From)
	assert.Equal(t, "1.1.0", doc.To)
	assert.True(t, doc.Passed)

	// Running the same release again changes nothing and still succeeds.
	head := gittest.Git(t, releaseCat, "rev-parse", "main")
	code, res, stderr = release()
	require.Equal(t, exitOK, code, stderr)
	for _, p := range res["published"].([]any) {
		assert.Equal(t, string(catalog.AlreadyPublished), p.(map[string]any)["status"])
	}
	assert.Equal(t, head, gittest.Git(t, releaseCat, "rev-parse", "main"))

	// 3. A dev build goes to the test catalog only and bumps nothing.
	commit("work in progress")
	code, res, stderr = release()
	require.Equal(t, exitOK, code, stderr)
	dev := res["version"].(string)
	assert.True(t, strings.HasPrefix(dev, "1.1.1-rbf28cd64t"), dev) // crc32("main")
	assert.Contains(t, gittest.Git(t, testCat, "show", "main:index.yaml"), dev)
	assert.Equal(t, []string{"1.0.0", "1.1.0"}, ociVersions())
	assert.NotContains(t, gittest.Git(t, releaseCat, "show", "main:index.yaml"), "-rbf28cd64t")
	assert.Equal(t, "1.1.0", appVersion())

	// 4. A release whose upgrade breaks (a changed Deployment selector) stops at
	// the upgrade test: exit 2, nothing published, nothing bumped.
	dep := filepath.Join(app, "helm", "hello", "templates", "deployment.yaml")
	b, err := os.ReadFile(dep)
	require.NoError(t, err)
	broken := strings.Replace(string(b), `{{- include "hello.selectorLabels" . | nindent 6 }}`, `{{- include "hello.selectorLabels" . | nindent 6 }}
      tier: web`, 1)
	broken = strings.Replace(broken, `{{- include "hello.selectorLabels" . | nindent 8 }}`, `{{- include "hello.selectorLabels" . | nindent 8 }}
        tier: web`, 1)
	require.NotEqual(t, string(b), broken)
	require.NoError(t, os.WriteFile(dep, []byte(broken), 0o644))
	commit("change the selector")
	gittest.Git(t, app, "tag", "v1.2.0")
	code, res, stderr = release()
	assert.Equal(t, exitCheck, code, stderr)
	assert.Equal(t, "upgrade-test", res["failed"])
	assert.Contains(t, stderr, "field is immutable")
	assert.Equal(t, []string{"1.0.0", "1.1.0"}, ociVersions())
	assert.NotContains(t, gittest.Git(t, releaseCat, "show", "main:index.yaml"), "1.2.0")
	assert.Equal(t, "1.1.0", appVersion())
}

// TestReleaseDryRunPrintsThePlanAndWritesNothing: --dry-run prints the plan —
// the version from the tag, every stage, the catalogs by kind, where the
// from-versions and the bump's versions come from — as text and as JSON, and
// writes nothing: no archive, no request to the registry, no commit in the
// catalogs, the GitOps repository or the app repository. No cluster is needed.
func TestReleaseDryRunPrintsThePlanAndWritesNothing(t *testing.T) {
	f := newReleaseFixture(t)
	reg, releaseCat, testCat, gitopsRepo, app := f.reg, f.releaseCat, f.testCat, f.gitopsRepo, f.app
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	gittest.Git(t, app, "add", "-A")
	gittest.Git(t, app, "commit", "--quiet", "-m", "hello chart")
	gittest.Git(t, app, "tag", "v1.0.0")

	heads := func() []string {
		var out []string
		for _, r := range []string{releaseCat, testCat, gitopsRepo, app} {
			out = append(out, gittest.Git(t, r, "for-each-ref"))
		}
		return append(out, gittest.Git(t, app, "status", "--porcelain", "--ignored"))
	}
	before := heads()
	dest := filepath.Join(t.TempDir(), "build")
	dryRun := func(output string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"chartship", "--output", output, "--log-format", "plain", "release", app,
			"--dry-run", "--destination", dest, "--plain-http", "--cluster", "kind", "--kind-name", "must-not-start",
			"--bump-repo", "file://" + gitopsRepo, "--bump-push-to", "main"}, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, text, stderr := dryRun("text")
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{
		"Plan: release hello 1.0.0 (release, version from tag)",
		"package      into " + dest,
		"upgrade-test from stable in oci  " + reg.Ref("charts") + " (oci)",
		"publish      oci  " + reg.Ref("charts") + " (oci)",
		"git  git+file://" + releaseCat + " (catalog)",
		"bump         file://" + gitopsRepo + " (policy same-major, push to main; versions from oci  " + reg.Ref("charts") + " (oci))",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, testCat, "a release goes to the release catalogs only")

	code, out, stderr := dryRun("json")
	require.Equal(t, exitOK, code, stderr)
	var plan struct {
		Chart, Version string
		Prerelease     bool
		Stages         []struct {
			Stage string
			Run   bool
		}
		Publish []struct{ Name, Ref, Kind string }
		Bump    struct {
			Versions struct{ Name, Kind string }
		}
		UpgradeTest struct {
			Catalog struct{ Name string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &plan), out)
	assert.Equal(t, "hello", plan.Chart)
	assert.Equal(t, "1.0.0", plan.Version)
	assert.False(t, plan.Prerelease)
	require.Len(t, plan.Stages, 4)
	for _, s := range plan.Stages {
		assert.True(t, s.Run, s.Stage)
	}
	require.Len(t, plan.Publish, 2)
	assert.Equal(t, []string{"oci", "git"}, []string{plan.Publish[0].Kind, plan.Publish[1].Kind})
	assert.Equal(t, "oci", plan.Bump.Versions.Name, "the registry Flux watches")
	assert.Equal(t, "oci", plan.UpgradeTest.Catalog.Name, "the first release catalog")

	// Nothing was written anywhere.
	assert.NoDirExists(t, dest, "no archive")
	assert.Empty(t, reg.Requests(), "not one request to the registry")
	assert.Equal(t, before, heads(), "no commit, tag or file in any repository")
}
