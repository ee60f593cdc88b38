package upgradetest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/release"
	"github.com/chartship/chartship/upgradetest"
)

// fleetFiles are one GitOps repository of five clusters running hello: three
// run 1.0.0 (pinned App, pinned HelmRelease, a stage resolving to it), one a
// version above the one under test, one a version the catalog lacks.
var fleetFiles = map[string]string{
	"clusters/a/hello.yaml": "apiVersion: application.giantswarm.io/v1alpha1\nkind: App\nmetadata: {name: hello}\nspec: {name: hello, catalog: c, version: 1.0.0}\n",
	"clusters/b/hello.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: hello}\nspec:\n  chart:\n    spec: {chart: hello, version: v1.0.0, sourceRef: {kind: HelmRepository, name: c}}\n",
	"clusters/c/hello.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: hello}\nspec:\n  url: oci://registry.example/charts/hello\n  ref: {semver: \"<1.1.0\"}\n",
	"clusters/d/hello.yaml": "apiVersion: application.giantswarm.io/v1alpha1\nkind: App\nmetadata: {name: hello}\nspec: {name: hello, catalog: c, version: 3.0.0}\n",
	"clusters/e/hello.yaml": "apiVersion: application.giantswarm.io/v1alpha1\nkind: App\nmetadata: {name: hello}\nspec: {name: hello, catalog: c, version: 0.9.0}\n",
}

// TestFromFleet upgrades from every version the fleet runs, once per distinct
// version, and says whose upgrades were proven.
func TestFromFleet(t *testing.T) {
	t.Parallel()
	fleet := t.TempDir()
	for f, content := range fleetFiles {
		p := filepath.Join(fleet, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	src := release.FleetSource([]string{fleet}, gitops.DefaultBumpOptions())
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), Catalog: helmRepo(t, []string{"hello-1.0.0"}, "3.0.0"),
		From: upgradetest.FromFleet, Fleet: src, SkipTests: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0"}, rep.From, "three clusters, one version: one upgrade")
	require.Len(t, rep.Scenarios, 1)
	assert.Equal(t, []string{fleet + ": clusters/a", fleet + ": clusters/b", fleet + ": clusters/c"}, rep.Scenarios[0].Clusters)
	require.NotNil(t, rep.Fleet)
	assert.Equal(t, []string{fleet + ": clusters/a", fleet + ": clusters/b", fleet + ": clusters/c"}, rep.Fleet.Proven)
	assert.Empty(t, rep.Fleet.NotProven)
	assert.ElementsMatch(t, []string{fleet + ": clusters/d (runs 3.0.0: not below 1.1.0)", fleet + ": clusters/e (runs 0.9.0: not in the catalog)"}, rep.Fleet.Untested)
	var text bytes.Buffer
	rep.Text(&text)
	assert.Contains(t, text.String(), "fleet: 3 cluster(s) proven")
	assert.Contains(t, text.String(), "     clusters: "+fleet+": clusters/a")

	// Without a fleet, --from fleet says what to give.
	_, err = runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), Catalog: helmRepo(t, []string{"hello-1.0.0"}), From: upgradetest.FromFleet})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--fleet-repo")
}
