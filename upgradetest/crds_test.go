package upgradetest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/upgradetest"
)

// TestCRDsForAppsAndClusters: a bundle chart of App CRs and a cluster chart of
// Cluster API objects can't install where their kinds are unknown; with
// --crds they upgrade, and their custom resources are reported as not
// reconciled here (no app-operator, no CAPI controllers in this cluster),
// while the chart's ConfigMap is still checked.
func TestCRDsForAppsAndClusters(t *testing.T) {
	t.Parallel()
	crds := testdata(t, "crds")

	dyn, err := dynamic.NewForConfig(needCluster(t).RESTConfig())
	require.NoError(t, err)
	crdRes := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})

	// Without the CRDs the bundle can't even be installed (on a cluster an
	// earlier run left them in, there's nothing to prove here).
	if _, err := crdRes.Get(runCtx(t), "apps.application.giantswarm.io", metav1.GetOptions{}); err != nil {
		rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "bundle-1.1.0"), FromFile: testdata(t, "bundle-1.0.0"), SkipTests: true})
		require.Error(t, err)
		require.NotNil(t, rep)
		assert.False(t, rep.Passed)
	} else {
		t.Log("the App CRD is already installed (an earlier run): the install without --crds is not checked")
	}

	for _, c := range []struct{ chart, kinds string }{{"bundle", "App/"}, {"cluster", "MachineDeployment/"}} {
		rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, c.chart+"-1.1.0"), FromFile: testdata(t, c.chart+"-1.0.0"), SkipTests: true,
			CRDs: []string{crds}})
		require.NoError(t, err, c.chart)
		require.Len(t, rep.Scenarios, 1)
		var notes []string
		for _, st := range rep.Scenarios[0].Steps {
			if strings.HasPrefix(st.Name, "healthy") {
				notes = append(notes, st.Details)
			}
		}
		require.Len(t, notes, 2, "healthy after install and after upgrade")
		for _, n := range notes {
			assert.Contains(t, n, "not reconciled here")
			assert.Contains(t, n, c.kinds)
			assert.NotContains(t, n, "ConfigMap/", "the ConfigMap is checked, not set aside")
		}
	}

	// The CRDs are served by the cluster now.
	for _, name := range []string{"apps.application.giantswarm.io", "clusters.cluster.x-k8s.io", "machinedeployments.cluster.x-k8s.io"} {
		_, err := crdRes.Get(runCtx(t), name, metav1.GetOptions{})
		assert.NoError(t, err, name)
	}

	// Bad input: a file that holds something other than CRDs, a missing path.
	bad := filepath.Join(t.TempDir(), "not-crds.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), 0o644))
	_, err = runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "bundle-1.1.0"), FromFile: testdata(t, "bundle-1.0.0"), CRDs: []string{bad}})
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "not a CustomResourceDefinition")
	_, err = runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "bundle-1.1.0"), FromFile: testdata(t, "bundle-1.0.0"), CRDs: []string{filepath.Join(t.TempDir(), "missing")}})
	require.ErrorIs(t, err, errdef.ErrUsage)
}
