package chart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
)

// A Giant Swarm app repository: the chart under helm/hello without a README of its own,
// restrictions in its Chart.yaml, the README at the repository's root. Build keeps both
// beside the archive and Open (a later `publish` step) reads them back.
func TestCatalogMetaKeptFromPackageToPublish(t *testing.T) {
	r := newRepo(t, "hello")
	chartDir := filepath.Join(r.dir, "helm", "hello")
	copyDir(t, filepath.Join(testCharts(t), "hello"), chartDir)
	require.NoError(t, os.Remove(filepath.Join(chartDir, "README.md")))
	chartYAML, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	require.NoError(t, err)
	r.write("helm/hello/Chart.yaml", string(chartYAML)+"restrictions:\n  clusterSingleton: true\n  compatibleProviders: [aws, capa]\n  fixedNamespace: kube-system\n")
	r.write("README.md", "# hello app\n\nThe repository's README.\n")
	r.commit("app repository")
	ctx := context.Background()
	dest := t.TempDir()

	res, err := Build(ctx, r.dir, BuildOptions{Destination: dest})
	require.NoError(t, err)
	want := CatalogMeta{
		Restrictions: map[string]any{"clusterSingleton": true, "compatibleProviders": []any{"aws", "capa"}, "fixedNamespace": "kube-system"},
		Readme:       []byte("# hello app\n\nThe repository's README.\n"), ReadmeFrom: ReadmeFromRepository,
	}
	assert.Equal(t, want, res.Package.Meta)
	c, err := res.Package.Load()
	require.NoError(t, err)
	for _, f := range c.Files {
		assert.NotEqual(t, "README.md", f.Name, "the archive is what helm packages: the repository README is not put in it")
	}

	opened, err := Open(res.Package.Path)
	require.NoError(t, err)
	assert.Equal(t, want, opened.Meta, "publish, in a later step, has what package knew")
	kept, err := os.ReadFile(MetaPath(res.Package.Path))
	require.NoError(t, err)
	assert.Contains(t, string(kept), "digest: "+res.Package.Digest.String())

	// The chart gets a README of its own (in the archive, where publish reads it) and loses
	// its restrictions: nothing to keep, and the stale file is gone.
	require.NoError(t, os.WriteFile(filepath.Join(chartDir, "README.md"), []byte("# hello chart\n"), 0o644))
	r.write("helm/hello/Chart.yaml", string(chartYAML))
	r.commit("chart README")
	res, err = Build(ctx, r.dir, BuildOptions{Destination: dest})
	require.NoError(t, err)
	assert.True(t, res.Package.Meta.Empty())
	assert.NoFileExists(t, MetaPath(res.Package.Path))
	opened, err = Open(res.Package.Path)
	require.NoError(t, err)
	assert.True(t, opened.Meta.Empty())

	// Bytes replaced by another tool: what was kept for other bytes is not used.
	other := filepath.Join(dest, "other.tgz")
	data, err := os.ReadFile(res.Package.Path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(other, data, 0o644))
	require.NoError(t, os.WriteFile(MetaPath(other), []byte("digest: sha256:0000\nrestrictions: {clusterSingleton: true}\n"), 0o644))
	opened, err = Open(other)
	require.NoError(t, err)
	assert.True(t, opened.Meta.Empty())
}

func TestCatalogMetaBadRestrictions(t *testing.T) {
	r := helloRepo(t)
	chartYAML, err := os.ReadFile(filepath.Join(r.dir, "Chart.yaml"))
	require.NoError(t, err)
	r.write("Chart.yaml", string(chartYAML)+"restrictions:\n  - clusterSingleton\n")
	r.commit("bad restrictions")
	dest := t.TempDir()
	_, err = Build(context.Background(), r.dir, BuildOptions{Destination: dest})
	require.Error(t, err)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "Chart.yaml: restrictions must be a mapping")
	assert.False(t, strings.Contains(err.Error(), "\n"), "one line")
	assert.Empty(t, filesUnder(t, dest), "nothing written")
}

// A chart README that .helmignore leaves out is not in the archive: the repository's is kept.
func TestCatalogMetaIgnoredChartReadme(t *testing.T) {
	r := newRepo(t, "hello")
	chartDir := filepath.Join(r.dir, "helm", "hello")
	copyDir(t, filepath.Join(testCharts(t), "hello"), chartDir)
	r.write("helm/hello/.helmignore", "README.md\n")
	r.write("README.md", "# hello app\n")
	r.commit("app repository")
	res, err := Build(context.Background(), r.dir, BuildOptions{Destination: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, CatalogMeta{Readme: []byte("# hello app\n"), ReadmeFrom: ReadmeFromRepository}, res.Package.Meta)
}
