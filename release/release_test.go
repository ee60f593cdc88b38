package release_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/release"
)

const app = `apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata: {name: hello, namespace: org-acme}
spec:
  catalog: demo
  name: hello
  version: 1.0.0
`

// TestReleaseRoutesByVersionKind: a release goes to the release catalogs and is
// bumped; a pre-release goes to the test catalogs only and bumps nothing; a
// chart that fails its checks stops the release before anything is published.
func TestReleaseRoutesByVersionKind(t *testing.T) {
	bare := func(name string, files map[string]string) string {
		p := filepath.Join(t.TempDir(), name)
		gittest.InitBare(t, p)
		gittest.Seed(t, p, files, "init")
		return p
	}
	relCat := bare("release.git", map[string]string{"README.md": "x\n"})
	testCat := bare("test.git", map[string]string{"README.md": "x\n"})
	fleet := bare("fleet.git", map[string]string{"apps/hello.yaml": app})
	cfg := &catalog.Config{Catalogs: []catalog.NamedCatalog{
		{Name: "release", Git: "git+file://" + relCat},
		{Name: "test", Git: "git+file://" + testCat, Test: true},
	}}
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.invalid")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.invalid")
	opts := func(version string) release.Options {
		return release.Options{
			Package: chart.BuildOptions{
				Destination: t.TempDir(),
				Version:     chart.VersionOptions{Version: version},
				Name:        chart.NameOptions{AllowMismatch: true},
			},
			Routing:  release.Routing{Config: cfg},
			Catalogs: catalog.DefaultOptions(),
			Bump: &release.BumpOptions{
				Repos:   []string{"file://" + fleet},
				Request: gitops.Request{Policy: gitops.PolicySameMajor},
				Apply:   gitops.BumpOptions{PushTo: "main"},
			},
		}
	}
	ctx := context.Background()

	res, err := release.Run(ctx, "../testdata/charts/hello", opts("1.1.0"))
	require.NoError(t, err)
	assert.False(t, res.Prerelease)
	require.Len(t, res.Published, 1)
	assert.Equal(t, catalog.Published, res.Published[0].Status)
	assert.Contains(t, gittest.Git(t, relCat, "show", "main:index.yaml"), "version: 1.1.0")
	assert.Contains(t, gittest.Git(t, fleet, "show", "main:apps/hello.yaml"), "version: 1.1.0")
	assert.Contains(t, res.Skipped, release.StageUpgradeTest)

	res, err = release.Run(ctx, "../testdata/charts/hello", opts("1.2.0-dev.main.20261126120000.habcdef0"))
	require.NoError(t, err)
	assert.True(t, res.Prerelease)
	assert.Contains(t, gittest.Git(t, testCat, "show", "main:index.yaml"), "1.2.0-dev.main.20261126120000.habcdef0")
	assert.NotContains(t, gittest.Git(t, relCat, "show", "main:index.yaml"), "-dev.")
	assert.Contains(t, gittest.Git(t, fleet, "show", "main:apps/hello.yaml"), "version: 1.1.0", "pre-releases are never bumped")
	assert.Contains(t, res.Skipped, release.StageBump)

	head := gittest.Git(t, relCat, "rev-parse", "main")
	res, err = release.Run(ctx, "../testdata/charts/broken-does-not-exist", opts("1.3.0"))
	require.Error(t, err)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Equal(t, release.StagePackage, res.Failed)
	assert.Equal(t, head, gittest.Git(t, relCat, "rev-parse", "main"))
}
