// Package charttest makes small packaged charts for tests.
package charttest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/chart"
)

// Package packages a small chart with helm's chartutil.Save and opens it.
func Package(t testing.TB, dir, name, version string) *chart.Package {
	t.Helper()
	c := &helmchart.Chart{
		Metadata: &helmchart.Metadata{
			APIVersion: "v2", Name: name, Version: version, AppVersion: "1.0.0",
			Description: "Test chart " + name,
			Home:        "https://github.com/chartship/" + name,
			Icon:        "https://example.com/icon.png",
			Annotations: map[string]string{"application.giantswarm.io/team": "atlas"},
		},
		Templates: []*helmchart.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n")}},
		Values:    map[string]any{"replicas": 1},
		Schema:    []byte(`{"type":"object","properties":{"replicas":{"type":"integer"}}}` + "\n"),
		Files:     []*helmchart.File{{Name: "README.md", Data: []byte("# " + name + "\n")}},
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p, err := chartutil.Save(c, dir)
	require.NoError(t, err)
	pkg, err := chart.Open(p)
	require.NoError(t, err)
	return pkg
}

// PackageWith packages a test chart changed by edit.
func PackageWith(t testing.TB, name, version string, edit func(*helmchart.Chart)) *chart.Package {
	t.Helper()
	dir := t.TempDir()
	pkg := Package(t, dir, name, version)
	c, err := pkg.Load()
	require.NoError(t, err)
	edit(c)
	out := filepath.Join(dir, "edited")
	require.NoError(t, os.MkdirAll(out, 0o755))
	p, err := chartutil.Save(c, out)
	require.NoError(t, err)
	pkg, err = chart.Open(p)
	require.NoError(t, err)
	return pkg
}
