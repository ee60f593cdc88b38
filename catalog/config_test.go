package catalog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/gitrepo"
	"github.com/chartship/chartship/internal/errdef"
)

func TestConfigResolve(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`
upgradeTest: {from: latest}   # another command's section: ignored here
catalogs:
  - name: test
    git: git+https://github.com/org/test-catalog.git
    indexURL: https://charts.example.com/test/
    test: true
  - name: release
    git: git+https://github.com/org/catalog.git
  - name: oci
    oci: oci://ghcr.io/org/charts
`), 0o644))
	cfg, err := LoadConfig(dir)
	require.NoError(t, err)

	n, err := cfg.Resolve("test")
	require.NoError(t, err)
	assert.Equal(t, "git+https://github.com/org/test-catalog.git", n.Ref())
	assert.True(t, n.Test)

	n, err = cfg.Resolve("git+file:///srv/catalog.git")
	require.NoError(t, err)
	assert.Equal(t, "git+file:///srv/catalog.git", n.Ref())
	assert.Empty(t, n.Name)

	_, err = cfg.Resolve("nope")
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "known: test, release, oci")

	assert.Equal(t, []string{"test"}, names(cfg.Select(true)))
	assert.Equal(t, []string{"release", "oci"}, names(cfg.Select(false)))

	c, err := cfg.Open("test", Options{})
	require.NoError(t, err)
	assert.Equal(t, "https://charts.example.com/test/", c.(*gitrepo.Catalog).IndexURL(), "a named catalog's indexURL applies")
	c, err = cfg.Open("release", Options{})
	require.NoError(t, err)
	assert.Equal(t, "https://org.github.io/catalog/", c.(*gitrepo.Catalog).IndexURL())
}

func names(ns []NamedCatalog) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

func TestConfigMissingAndInvalid(t *testing.T) {
	cfg, err := LoadConfig(t.TempDir())
	require.NoError(t, err)
	assert.Empty(t, cfg.Catalogs)

	for _, bad := range []string{
		"catalogs:\n  - name: a\n    git: https://github.com/o/r.git\n",
		"catalogs:\n  - name: a\n",
		"catalogs:\n  - name: a\n    oci: oci://r/n\n  - name: a\n    oci: oci://r/m\n",
		"catalogs:\n  - name: A B\n    oci: oci://r/n\n",
		"catalogs: [\n",
	} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte(bad), 0o644))
		_, err := LoadConfig(dir)
		assert.ErrorIs(t, err, errdef.ErrUsage, bad)
	}
}
