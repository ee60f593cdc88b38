package upgradetest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/internal/testcluster"
	"github.com/chartship/chartship/upgradetest"
)

// testCluster is the cluster CHARTSHIP_TEST_KUBECONFIG points at: `make test` starts the
// local one (scripts/testcluster up DIR) and exports it; a developer may point it at kind.
var testCluster *upgradetest.Cluster

func TestMain(m *testing.M) {
	if kc := os.Getenv(testcluster.EnvKubeconfig); kc != "" {
		c, err := upgradetest.KubeconfigCluster(kc, "")
		if err != nil {
			fmt.Fprintf(os.Stderr, "CHARTSHIP_TEST_KUBECONFIG=%s: %v\n", kc, err)
			os.Exit(1)
		}
		testCluster = c
	}
	code := m.Run()
	closeKindCluster()
	os.Exit(code)
}

// needCluster skips outside CI when no test cluster is configured; in CI it fails.
func needCluster(t testing.TB) *upgradetest.Cluster {
	t.Helper()
	testcluster.Kubeconfig(t)
	return testCluster
}

func testdata(t testing.TB, elem ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(append([]string{dir, "testdata", "upgradetest"}, elem...)...)
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "repository root (go.mod) not found")
		dir = parent
	}
}

func loadChart(t testing.TB, name string) *chart.Chart {
	t.Helper()
	c, err := loader.Load(testdata(t, name))
	require.NoError(t, err)
	return c
}

// helmRepo serves a real helm repository (index.yaml + .tgz packaged from testdata) over
// HTTP, plus extra index entries without packages.
func helmRepo(t testing.TB, charts []string, extraVersions ...string) catalog.Catalog {
	t.Helper()
	dir := t.TempDir()
	for _, name := range charts {
		_, err := chartutil.Save(loadChart(t, name), dir)
		require.NoError(t, err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	idx, err := repo.IndexDirectory(dir, srv.URL)
	require.NoError(t, err)
	for _, v := range extraVersions {
		require.NoError(t, idx.MustAdd(&chart.Metadata{APIVersion: "v2", Name: "hello", Version: v}, "hello-"+v+".tgz", srv.URL, "sha256:0"))
	}
	idx.SortEntries()
	require.NoError(t, idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644))
	c, err := catalog.Open(srv.URL+"/", catalog.Options{})
	require.NoError(t, err)
	return c
}

// validateJUnit checks a JUnit file against testdata/upgradetest/junit.xsd (the Ant/Jenkins
// JUnit format CircleCI reads) with xmllint.
func validateJUnit(t testing.TB, path string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint is needed to validate JUnit output: apt-get install libxml2-utils")
		}
		t.Skip("xmllint not installed (apt-get install libxml2-utils); JUnit schema not checked")
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", testdata(t, "junit.xsd"), path).CombinedOutput()
	require.NoError(t, err, "JUnit output does not match the schema:\n%s", out)
}

func runCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
