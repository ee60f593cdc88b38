package upgradetest_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/chartship/chartship/upgradetest"
)

// ociCatalog reads released versions from an OCI registry namespace with helm's registry
// client: tags (paged by oras) and pulls. It stands in for catalog.Open("oci://…") in these
// tests until package catalog's OCI half lands; both satisfy upgradetest.Catalog.
type ociCatalog struct {
	client *registry.Client
	base   string // host/namespace
}

func (o *ociCatalog) Versions(_ context.Context, chart string) ([]string, error) {
	return o.client.Tags(o.base + "/" + chart)
}

func (o *ociCatalog) Fetch(_ context.Context, chart, version, dir string) (string, error) {
	res, err := o.client.Pull(o.base+"/"+chart+":"+strings.ReplaceAll(version, "+", "_"), registry.PullOptWithChart(true))
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, chart+"-"+version+".tgz")
	return p, os.WriteFile(p, res.Chart.Data, 0o644)
}

// ociRegistry starts an in-process distribution registry and pushes the charts to
// REGISTRY/charts/<name>:<version>.
func ociRegistry(t *testing.T, charts ...string) *ociCatalog {
	t.Helper()
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg.HTTP.Secret = "chartship-test"
	cfg.Log.AccessLog.Disabled = true
	logrus.SetOutput(io.Discard) // the registry logs every request through logrus
	srv := httptest.NewServer(handlers.NewApp(context.Background(), cfg))
	t.Cleanup(srv.Close)
	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(&strings.Builder{}))
	require.NoError(t, err)
	base := strings.TrimPrefix(srv.URL, "http://") + "/charts"
	dir := t.TempDir()
	for _, name := range charts {
		c := loadChart(t, name)
		p, err := chartutil.Save(c, dir)
		require.NoError(t, err)
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		_, err = client.Push(data, base+"/"+c.Metadata.Name+":"+c.Metadata.Version)
		require.NoError(t, err)
	}
	return &ociCatalog{client: client, base: base}
}

// TestFromVersionFromOCIRegistry: the from-version comes from the tags of a real OCI
// registry; the version under test is ignored even though it is already pushed (re-runs),
// and two values files run as two scenarios in parallel.
func TestFromVersionFromOCIRegistry(t *testing.T) {
	t.Parallel()
	cat := ociRegistry(t, "hello-1.0.0", "hello-1.1.0", "hello-2.0.0")
	versions, err := cat.Versions(context.Background(), "hello")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"1.0.0", "1.1.0", "2.0.0"}, versions)

	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), Catalog: cat, SkipTests: true,
		Values:   []string{testdata(t, "one-replica-values.yaml"), testdata(t, "three-replicas-values.yaml")},
		Parallel: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0"}, rep.From)
	require.Len(t, rep.Scenarios, 2)
	assert.Equal(t, "one-replica", rep.Scenarios[0].Name)
	assert.Equal(t, "three-replicas", rep.Scenarios[1].Name)
	assert.NotEqual(t, rep.Scenarios[0].Namespace, rep.Scenarios[1].Namespace)
	for _, s := range rep.Scenarios {
		assert.True(t, s.Passed, s.ID())
	}
}
