package catalog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindConfigWalksUpToTheWorkTreeRoot(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, ".git"), 0o755))
	chartDir := filepath.Join(root, "helm", "hello")
	require.NoError(t, os.MkdirAll(chartDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, ConfigFile), []byte("catalogs:\n  - name: release\n    oci: oci://registry.example/charts\n"), 0o644))

	cfg, err := FindConfig(chartDir)
	require.NoError(t, err)
	require.Len(t, cfg.Catalogs, 1)
	assert.Equal(t, "release", cfg.Catalogs[0].Name)

	// Above the work tree's root nothing is read.
	outer := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outer, ConfigFile), []byte("catalogs: [{name: x, oci: 'oci://r/x'}]\n"), 0o644))
	inner := filepath.Join(outer, "repo")
	require.NoError(t, os.MkdirAll(filepath.Join(inner, ".git"), 0o755))
	cfg, err = FindConfig(inner)
	require.NoError(t, err)
	assert.Empty(t, cfg.Catalogs)
}
