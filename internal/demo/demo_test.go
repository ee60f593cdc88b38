package demo

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/upgradetest"
)

func TestDemoReleasesTwiceThroughEveryStage(t *testing.T) {
	kc := os.Getenv("CHARTSHIP_TEST_KUBECONFIG")
	if kc == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CHARTSHIP_TEST_KUBECONFIG is not set; `make test` starts the local test cluster")
		}
		t.Skip("no test cluster: set CHARTSHIP_TEST_KUBECONFIG or run make test")
	}
	cluster, err := upgradetest.KubeconfigCluster(kc, "")
	require.NoError(t, err)
	work := filepath.Join(t.TempDir(), "demo")

	res, err := Run(context.Background(), Options{ChartDir: "../../testdata/charts/hello", WorkDir: work, Cluster: cluster})
	require.NoError(t, err)

	assert.Equal(t, []string{"1.0.0", "1.1.0"}, res.Tags)
	require.Len(t, res.Releases, 2)
	assert.True(t, res.Releases[0].UpgradeTest.FirstRelease)
	assert.Equal(t, []string{"1.0.0"}, res.Releases[1].UpgradeTest.From)
	assert.True(t, res.Releases[1].UpgradeTest.Passed)

	p := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, os.WriteFile(p, []byte(res.IndexYAML), 0o644))
	idx, err := repo.LoadIndexFile(p)
	require.NoError(t, err)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		cv, err := idx.Get("hello", v)
		require.NoError(t, err, v)
		assert.Equal(t, []string{"https://demo.example/catalog/hello-" + v + ".tgz"}, cv.URLs)
	}
	assert.Contains(t, res.AppCR, `version: 1.1.0 # {"$imagepolicy": "flux-system:hello:tag"}`)
	assert.FileExists(t, filepath.Join(work, "build", "hello-1.1.0.tgz"))
}

func TestDemoNeedsTheSampleChart(t *testing.T) {
	_, err := Run(context.Background(), Options{ChartDir: t.TempDir(), WorkDir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make demo")
}
