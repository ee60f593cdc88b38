package upgradetest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/upgradetest"
)

// TestFromVersionFromGitCatalog: released versions come from a git catalog served by real
// `git http-backend`, cloned over smart HTTP.
func TestFromVersionFromGitCatalog(t *testing.T) {
	t.Parallel()
	needCluster(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "catalog.git")

	pkgs := t.TempDir()
	for _, name := range []string{"hello-1.0.0", "hello-1.1.0"} {
		_, err := chartutil.Save(loadChart(t, name), pkgs)
		require.NoError(t, err)
	}
	idx, err := repo.IndexDirectory(pkgs, "https://charts.example.com/")
	require.NoError(t, err)
	require.NoError(t, idx.WriteFile(filepath.Join(pkgs, "index.yaml"), 0o644))
	files := map[string]string{}
	for _, f := range []string{"index.yaml", "hello-1.0.0.tgz", "hello-1.1.0.tgz"} {
		data, err := os.ReadFile(filepath.Join(pkgs, f))
		require.NoError(t, err)
		files[f] = string(data)
	}
	gittest.Seed(t, srv.Dir("catalog.git"), files, "publish hello 1.0.0 and 1.1.0")

	cat, err := catalog.Open("git+"+url, catalog.Options{})
	require.NoError(t, err)

	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-2.0.0"), Catalog: cat,
		From: "N-1,1.0.0", SkipTests: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0", "1.1.0"}, rep.From)
	require.Len(t, rep.Scenarios, 2)
	for _, s := range rep.Scenarios {
		assert.True(t, s.Major, "%s crosses a major version", s.ID())
		assert.Contains(t, s.Note, "major upgrade")
		assert.True(t, s.Passed)
	}
}
