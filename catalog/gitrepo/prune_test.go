package gitrepo

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/gittest"
)

func TestGitPrune(t *testing.T) {
	ctx := context.Background()
	bare := filepath.Join(t.TempDir(), "catalog.git")
	bareCatalog(t, bare, map[string]string{"index.yaml": emptyIndex(t)})
	g, err := Open("git+file://"+bare, testGitOptions())
	require.NoError(t, err)
	now := time.Now().UTC()
	publishAt := func(name, version string, at time.Time) {
		g.now = func() time.Time { return at }
		_, err := g.Publish(ctx, charttest.Package(t, t.TempDir(), name, version))
		require.NoError(t, err)
	}
	publishAt("hello", "1.0.0", now.Add(-90*24*time.Hour))
	publishAt("hello", "1.1.0-dev.1", now.Add(-60*24*time.Hour))
	publishAt("hello", "1.1.0-dev.2", now.Add(-time.Hour))
	publishAt("only-dev", "0.1.0-dev.7", now.Add(-40*24*time.Hour))
	g.now = func() time.Time { return now }

	opts := catalogdef.PruneOptions{Match: regexp.MustCompile(`-dev\.`), OlderThan: 720 * time.Hour, DryRun: true}
	before := head(t, bare)
	res, err := g.Prune(ctx, opts)
	require.NoError(t, err)
	assert.Equal(t, before, head(t, bare), "a dry run changes nothing")
	require.Len(t, res.Removed, 2)
	assert.Equal(t, "1.1.0-dev.1", res.Removed[0].Version)
	assert.Equal(t, "only-dev", res.Removed[1].Chart)

	opts.DryRun = false
	res, err = g.Prune(ctx, opts)
	require.NoError(t, err)
	require.Len(t, res.Removed, 2)
	assert.Equal(t, before, gittest.Git(t, bare, "rev-parse", "main~1")[:len(before)], "one commit")
	idx := loadIndex(t, []byte(show(t, bare, "index.yaml")))
	assert.True(t, idx.Has("hello", "1.0.0"))
	assert.True(t, idx.Has("hello", "1.1.0-dev.2"))
	assert.False(t, idx.Has("hello", "1.1.0-dev.1"))
	_, gone := idx.Entries["only-dev"]
	assert.False(t, gone)
	tree := gittest.Git(t, bare, "ls-tree", "-r", "--name-only", "main")
	assert.Contains(t, tree, "hello-1.0.0.tgz\n")
	assert.Contains(t, tree, "hello-1.1.0-dev.2.tgz-meta/main.yaml\n")
	assert.NotContains(t, tree, "hello-1.1.0-dev.1")
	assert.NotContains(t, tree, "only-dev")
}
