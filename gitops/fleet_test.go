package gitops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFleetVersionsGolden: the release-stages fleet runs, before 1.2.0 is
// released, the versions its pinned references hold and its stages resolve
// to — each with its clusters.
func TestFleetVersionsGolden(t *testing.T) {
	dir := filepath.Join("..", "testdata", "gitops", "release-stages", "original")
	req := Request{Chart: "hello", Version: "1.2.0", Available: []string{"1.0.0", "1.1.0", "v1.1.1", "1.2.0-rc.0", "1.2.0"}}
	got, results, err := FleetVersions(context.Background(), []string{dir}, req, DefaultBumpOptions())
	require.Error(t, err, "the broken files are reported")
	require.Len(t, results, 1)
	require.NotNil(t, results[0].Plan)
	assert.Len(t, results[0].Plan.Problems, 4)
	repo := results[0].Repo
	assert.Equal(t, []FleetVersion{
		{Version: "1.2.0-rc.0", Clusters: []string{repo + ": clusters/legacy-mc", repo + ": clusters/testing-mc"}},
		{Version: "1.1.1", Clusters: []string{repo + ": clusters/stable-mc", repo + ": clusters/stable-pinned"}},
		{Version: "1.0.0", Clusters: []string{repo + ": clusters/digest", repo + ": clusters/pinned-tag"}},
	}, got)
}

func TestRunningVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.0": "1.2.0", "v1.2.0": "1.2.0", "ghcr.io/a/b:1.2.0": "1.2.0", "host:5000/a/b:v1.2.0@sha256:00": "1.2.0",
		"1.2.0_build.1": "1.2.0+build.1", ">=1.0.0": "", "latest": "", "@sha256:abc": "", "${v}": "", "host:5000/a/b": "",
	} {
		got, ok := runningVersion(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want != "", ok, in)
	}
}

// TestBumpBundleValues: an App version nested in a bundle chart's values
// moves when it carries a marker.
func TestBumpBundleValues(t *testing.T) {
	dir := t.TempDir()
	values, err := os.ReadFile(filepath.Join("..", "testdata", "upgradetest", "bundle-1.0.0", "values.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bundle"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bundle", "values.yaml"), values, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: hello, namespace: flux-system}\nspec:\n  imageRepositoryRef: {name: hello}\n  policy: {semver: {range: '>=1.0.0'}}\n"), 0o644))
	plan, err := PlanDir(context.Background(), dir, Request{Chart: "hello", Version: "1.1.0"}, Options{})
	require.NoError(t, err)
	require.NoError(t, plan.Err())
	require.Len(t, plan.Changes, 1)
	assert.Equal(t, "bundle/values.yaml", plan.Changes[0].File)
	b, ok := plan.Content("bundle/values.yaml")
	require.True(t, ok)
	assert.Equal(t, strings.Replace(string(values), "version: 1.0.0 #", "version: 1.1.0 #", 1), string(b))
}
