package chart

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
)

// TestBuildOCIDependency resolves an oci:// dependency from a real registry
// (distribution, in process) through Helm's downloader and registry client.
func TestBuildOCIDependency(t *testing.T) {
	helmHome := t.TempDir()
	t.Setenv("HELM_CONFIG_HOME", filepath.Join(helmHome, "config"))
	t.Setenv("HELM_CACHE_HOME", filepath.Join(helmHome, "cache"))
	t.Setenv("HELM_DATA_HOME", filepath.Join(helmHome, "data"))
	ctx := context.Background()

	cfg := &configuration.Configuration{Storage: configuration.Storage{"inmemory": configuration.Parameters{}}}
	cfg.Log.AccessLog.Disabled = true
	cfg.Log.Level = "error"
	srv := httptest.NewServer(handlers.NewApp(ctx, cfg))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// Publish hello-common 1.2.0 to the registry.
	built, err := Build(ctx, filepath.Join(testCharts(t), "hello-common"), BuildOptions{Destination: t.TempDir(), Version: VersionOptions{Version: "1.2.0"}, Name: NameOptions{AllowMismatch: true}})
	require.NoError(t, err)
	rc, err := registry.NewClient(registry.ClientOptPlainHTTP())
	require.NoError(t, err)
	data, err := os.ReadFile(built.Package.Path)
	require.NoError(t, err)
	_, err = rc.Push(data, host+"/charts/hello-common:1.2.0")
	require.NoError(t, err)

	r := newRepo(t, "hello-stack")
	copyDir(t, filepath.Join(testCharts(t), "hello-stack"), r.dir)
	chartYAML := filepath.Join(r.dir, "Chart.yaml")
	y, err := os.ReadFile(chartYAML)
	require.NoError(t, err)
	y = bytes.Replace(y, []byte(`"file://../hello-common"`), []byte("oci://"+host+"/charts"), 1)
	require.NoError(t, os.WriteFile(chartYAML, y, 0o644))
	r.commit("stack from OCI")

	res, err := Build(ctx, r.dir, BuildOptions{Destination: t.TempDir(), Dependencies: DependencyOptions{PlainHTTP: true}})
	require.NoError(t, err)
	c, err := loader.LoadFile(res.Package.Path)
	require.NoError(t, err)
	require.Len(t, c.Dependencies(), 1)
	assert.Equal(t, "hello-common", c.Dependencies()[0].Name())
	assert.Equal(t, "1.2.0", c.Dependencies()[0].Metadata.Version)
}
