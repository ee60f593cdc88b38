package gitrepo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/charttest"
)

// Giant Swarm's -meta/ conventions: main.yaml carries the source Chart.yaml's restrictions,
// README.md is the one package found (the app repository's when the chart has none).
func TestGitPublishWritesGiantSwarmMeta(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "catalog.git")
	bareCatalog(t, bare, map[string]string{"README.md": "catalog\n"})
	c, err := Open("git+file://"+bare, testGitOptions())
	require.NoError(t, err)

	pkg := charttest.Package(t, t.TempDir(), "hello", "1.0.0")
	pkg.Meta = chart.CatalogMeta{
		Restrictions: map[string]any{"clusterSingleton": true, "compatibleProviders": []any{"aws"}},
		Readme:       []byte("# the app repository\n"), ReadmeFrom: chart.ReadmeFromRepository,
	}
	_, err = c.Publish(context.Background(), pkg)
	require.NoError(t, err)
	assert.Equal(t, "# the app repository\n", show(t, bare, "hello-1.0.0.tgz-meta/README.md"))
	var main map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(show(t, bare, "hello-1.0.0.tgz-meta/main.yaml")), &main))
	assert.Equal(t, map[string]any{"clusterSingleton": true, "compatibleProviders": []any{"aws"}}, main["restrictions"])
	assert.Equal(t, "hello-1.0.0.tgz", main["chartFile"])

	// Without kept metadata (a package helm made): the chart's own README, no restrictions.
	pkg = charttest.Package(t, t.TempDir(), "hello", "1.0.1")
	_, err = c.Publish(context.Background(), pkg)
	require.NoError(t, err)
	assert.Equal(t, "# hello\n", show(t, bare, "hello-1.0.1.tgz-meta/README.md"))
	assert.NotContains(t, show(t, bare, "hello-1.0.1.tgz-meta/main.yaml"), "restrictions")
}
