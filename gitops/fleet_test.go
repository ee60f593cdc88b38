package gitops

import (
	"context"
	"path/filepath"
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
		{Version: "1.0.0", Clusters: []string{repo + ": clusters/pinned-tag"}},
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
