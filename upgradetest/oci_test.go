package upgradetest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/upgradetest"
)

// ociRegistry starts an in-process distribution registry and publishes the charts with
// package catalog to REGISTRY/charts/<name>:<version>; it returns that catalog.
func ociRegistry(t *testing.T, charts ...string) catalog.Catalog {
	t.Helper()
	reg := registrytest.New(t)
	cat, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	dir := t.TempDir()
	for _, name := range charts {
		p, err := chartutil.Save(loadChart(t, name), dir)
		require.NoError(t, err)
		pkg, err := chart.Open(p)
		require.NoError(t, err)
		_, err = cat.Publish(context.Background(), pkg)
		require.NoError(t, err)
	}
	return cat
}

// TestFromVersionFromOCIRegistry: the from-version comes from the tags of a real OCI
// registry read through catalog.Catalog; the version under test is ignored even though it
// is already pushed (a re-run), and two values files run as two scenarios in parallel.
func TestFromVersionFromOCIRegistry(t *testing.T) {
	t.Parallel()
	needCluster(t)
	cat := ociRegistry(t, "hello-1.0.0", "hello-1.1.0", "hello-2.0.0")

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

// TestFirstReleaseFromEmptyOCIRegistry: a chart the registry has never seen is the first
// release — reported as an install test, not as a passed upgrade.
func TestFirstReleaseFromEmptyOCIRegistry(t *testing.T) {
	t.Parallel()
	needCluster(t)
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.0.0"), Catalog: ociRegistry(t), SkipTests: true})
	require.NoError(t, err)
	assert.True(t, rep.FirstRelease)
	assert.Empty(t, rep.From)
	assert.Equal(t, upgradetest.KindInstall, rep.Scenarios[0].Kind)
}
