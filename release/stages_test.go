package release_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/release"
)

// Two stages of one fleet: "stable" follows --policy same-major, "testing"
// an ImagePolicy whose range admits pre-releases.
const stagedFleetStable = `apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata: {name: hello, namespace: org-stable}
spec:
  catalog: demo
  name: hello
  version: 1.0.0
`

const stagedFleetTesting = `apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: hello-testing, namespace: flux-system}
spec:
  imageRepositoryRef: {name: hello}
  policy: {semver: {range: '>=1.0.0-0'}}
---
apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata: {name: hello, namespace: org-testing}
spec:
  catalog: demo
  name: hello
  version: 1.0.0 # {"$imagepolicy": "flux-system:hello-testing:tag"}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: hello-pinned, namespace: flux-system}
spec:
  imageRepositoryRef: {name: hello}
  digestReflectionPolicy: Always
  policy: {semver: {range: '>=1.0.0-0'}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: hello, namespace: flux-system}
spec: {image: registry.example/charts/hello}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: hello-digest, namespace: flux-system}
data:
  digest: none # {"$imagepolicy": "flux-system:hello-pinned:digest"}
`

// TestReleaseStagesRCAndDev: a stable release and a release candidate go to
// the release catalog (the OCI registry); the RC is bumped only where the
// policy admits pre-releases and can't be overwritten, even with --force; an
// RFC dev build goes to the test catalog and bumps nothing; a commit on a
// nobuild/ branch does nothing and succeeds.
func TestReleaseStagesRCAndDev(t *testing.T) {
	reg := registrytest.New(t)
	testCat := filepath.Join(t.TempDir(), "test.git")
	gittest.InitBare(t, testCat)
	gittest.Seed(t, testCat, map[string]string{"README.md": "x\n"}, "init")
	fleet := filepath.Join(t.TempDir(), "fleet.git")
	gittest.InitBare(t, fleet)
	gittest.Seed(t, fleet, map[string]string{"stable/hello.yaml": stagedFleetStable, "testing/hello.yaml": stagedFleetTesting}, "init")
	cfg := &catalog.Config{Catalogs: []catalog.NamedCatalog{
		{Name: "release", OCI: reg.Ref("charts")},
		{Name: "test", Git: "git+file://" + testCat, Test: true},
	}}
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"} {
		t.Setenv(k, "t")
	}
	for _, k := range []string{"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"} {
		t.Setenv(k, "t@example.invalid")
	}
	copts := catalog.DefaultOptions()
	copts.OCI.PlainHTTP = true
	copts.OCI.Force = true // never overwrites a release, an RC included
	opts := func(version, appVersion string) release.Options {
		return release.Options{
			Package: chart.BuildOptions{
				Destination: t.TempDir(),
				Version:     chart.VersionOptions{Version: version},
				AppVersion:  appVersion,
				Name:        chart.NameOptions{AllowMismatch: true},
			},
			Routing:  release.Routing{Config: cfg},
			Catalogs: copts,
			Bump: &release.BumpOptions{
				Repos:   []string{"file://" + fleet},
				Request: gitops.Request{Policy: gitops.PolicySameMajor},
				Apply:   gitops.BumpOptions{PushTo: "main"},
			},
		}
	}
	ctx := context.Background()
	show := func(f string) string { return gittest.Git(t, fleet, "show", "main:"+f) }
	tags := func() []string {
		c, err := cfg.Open("release", copts)
		require.NoError(t, err)
		vs, err := c.Versions(ctx, "hello")
		require.NoError(t, err)
		return vs
	}

	_, err := release.Run(ctx, "../testdata/charts/hello", opts("1.1.0", ""))
	require.NoError(t, err)
	assert.Contains(t, show("stable/hello.yaml"), "version: 1.1.0\n")
	assert.Contains(t, show("testing/hello.yaml"), "version: 1.1.0 #")

	plan, err := release.NewPlan(ctx, "../testdata/charts/hello", opts("1.2.0-rc.1", ""))
	require.NoError(t, err)
	assert.Equal(t, chart.ChannelRC, plan.Channel)
	assert.True(t, plan.Prerelease)
	require.Len(t, plan.Publish, 1)
	assert.Equal(t, "release", plan.Publish[0].Name)
	assert.True(t, plan.Runs(release.StageBump))
	var text strings.Builder
	plan.Text(&text)
	assert.Contains(t, text.String(), "(release candidate, version from flag)")
	assert.Contains(t, text.String(), "a release candidate moves only references whose policy admits pre-releases")

	res, err := release.Run(ctx, "../testdata/charts/hello", opts("1.2.0-rc.1", ""))
	require.NoError(t, err)
	require.Len(t, res.Published, 1)
	assert.Equal(t, catalog.Published, res.Published[0].Status)
	assert.ElementsMatch(t, []string{"1.1.0", "1.2.0-rc.1"}, tags())
	assert.Contains(t, show("stable/hello.yaml"), "version: 1.1.0\n", "same-major admits no pre-release")
	assert.Contains(t, show("testing/hello.yaml"), "version: 1.2.0-rc.1 #", "the testing stage's policy admits pre-releases")
	// The digest marker got the manifest digest the registry holds for the RC.
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, res.Published[0].Manifest)
	hreq, err := http.NewRequest(http.MethodHead, reg.URL+"/v2/charts/hello/manifests/1.2.0-rc.1", nil)
	require.NoError(t, err)
	hreq.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := reg.Client().Do(hreq)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, res.Published[0].Manifest, resp.Header.Get("Docker-Content-Digest"))
	assert.Contains(t, show("testing/hello.yaml"), "digest: "+res.Published[0].Manifest+" #")

	// An RC is a release: other bytes under its version are refused, --force or not.
	head := gittest.Git(t, fleet, "rev-parse", "main")
	res, err = release.Run(ctx, "../testdata/charts/hello", opts("1.2.0-rc.1", "9.9.9"))
	require.Error(t, err)
	assert.ErrorIs(t, err, errdef.ErrCheck)
	assert.ErrorIs(t, err, catalog.ErrConflict)
	assert.Equal(t, release.StagePublish, res.Failed)
	assert.Equal(t, head, gittest.Git(t, fleet, "rev-parse", "main"))

	// An RFC dev build: test catalog, no bump.
	dev := "1.2.1-r7b5b4fa7t20260112120959h1a2b3c4"
	res, err = release.Run(ctx, "../testdata/charts/hello", opts(dev, ""))
	require.NoError(t, err)
	assert.Contains(t, res.Skipped, release.StageBump)
	assert.Contains(t, gittest.Git(t, testCat, "show", "main:index.yaml"), dev)
	assert.ElementsMatch(t, []string{"1.1.0", "1.2.0-rc.1"}, tags())
	assert.Equal(t, head, gittest.Git(t, fleet, "rev-parse", "main"))

	// A nobuild/ branch: nothing runs, and that is a success.
	app := filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.CopyFS(app, os.DirFS("../testdata/charts/hello")))
	for _, args := range [][]string{{"init", "--quiet", "--initial-branch=nobuild/i-dont-care"}, {"add", "-A"}, {"commit", "--quiet", "-m", "c"}} {
		gittest.Git(t, app, args...)
	}
	o := opts("", "")
	o.Package.Version = chart.VersionOptions{}
	plan, err = release.NewPlan(ctx, app, o)
	require.NoError(t, err)
	assert.Contains(t, plan.NoBuild, "nobuild/i-dont-care")
	assert.False(t, plan.Runs(release.StagePackage))
	res, err = release.Execute(ctx, plan)
	require.NoError(t, err)
	assert.Equal(t, []release.Stage{release.StagePackage, release.StageUpgradeTest, release.StagePublish, release.StageBump}, res.Skipped)
	assert.Empty(t, res.Published)
	assert.ElementsMatch(t, []string{"1.1.0", "1.2.0-rc.1"}, tags())
	assert.Equal(t, head, gittest.Git(t, fleet, "rev-parse", "main"))
}
