package gitops

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const filtersRepo = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: a, namespace: apps}
spec:
  chart:
    spec: {chart: hello-world, version: 1.0.0, sourceRef: {kind: HelmRepository, name: giantswarm, namespace: flux-system}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: b, namespace: apps}
spec:
  chart:
    spec: {chart: hello-world, version: 1.0.0, sourceRef: {kind: HelmRepository, name: mirror}}
---
apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata: {name: c}
spec: {catalog: giantswarm, name: hello-world, version: 1.0.0}
---
apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata: {name: d}
spec: {catalog: other, name: hello-world, version: 1.0.0}
---
apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata: {name: e}
spec: {catalog: giantswarm, name: hello-world-extra, version: 1.0.0}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: f}
spec: {url: oci://ghcr.io/a/hello-world, ref: {tag: 1.0.0}}
`

func TestPlanFilters(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(filtersRepo), 0o644))
	objects := func(req Request) []string {
		req.Chart, req.Version = "hello-world", "1.1.0"
		plan, err := PlanDir(context.Background(), dir, req, Options{})
		require.NoError(t, err)
		require.Empty(t, plan.Problems)
		var out []string
		for _, c := range plan.Changes {
			out = append(out, c.Object)
		}
		return out
	}
	all := []string{"HelmRelease apps/a", "HelmRelease apps/b", "App c", "App d", "OCIRepository f"}
	assert.Equal(t, all, objects(Request{}))
	assert.Equal(t, []string{"HelmRelease apps/a", "App c", "App d", "OCIRepository f"}, objects(Request{Source: "HelmRepository/flux-system/giantswarm"}))
	assert.Equal(t, []string{"HelmRelease apps/b", "App c", "App d", "OCIRepository f"}, objects(Request{Source: "mirror"}))
	assert.Equal(t, []string{"HelmRelease apps/a", "HelmRelease apps/b", "App c", "OCIRepository f"}, objects(Request{Catalog: "giantswarm"}))
	assert.Equal(t, []string{"HelmRelease apps/a", "HelmRelease apps/b", "App c", "App d"}, objects(Request{Registry: "oci://gsoci.azurecr.io/charts"}))
	assert.Equal(t, all, objects(Request{Registry: "oci://ghcr.io/a/"}))
}

func TestPlanPolicyNoneListsReferences(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(filtersRepo), 0o644))
	plan, err := PlanDir(context.Background(), dir, Request{Chart: "hello-world", Version: "1.1.0", Policy: PolicyNone}, Options{})
	require.NoError(t, err)
	assert.Empty(t, plan.Changes)
	require.Len(t, plan.Left, 5)
	assert.Equal(t, "no ImagePolicy and --policy none", plan.Left[0].Reason)
}

func TestPlanSubstitutedNameIsAmbiguous(t *testing.T) {
	plan, err := PlanDir(context.Background(), filepath.Join("..", "testdata", "gitops", "substitution", "original"),
		Request{Chart: "hello-world", Version: "1.3.0", Available: []string{"1.4.0"}}, Options{})
	require.NoError(t, err)
	var reasons []string
	for _, l := range plan.Left {
		reasons = append(reasons, l.Value+": "+l.Reason)
	}
	assert.Contains(t, reasons, `1.2.0: the chart name "${app_name}" is a Flux substitution and may or may not be hello-world: add a $imagepolicy marker to bump it`)
	assert.Contains(t, reasons, "${hello_version}: the value is a Flux substitution: change it where the variable is set")
	assert.Contains(t, reasons, "gsoci.azurecr.io/charts/giantswarm/hello-world: up to date")
	assert.Len(t, plan.Changes, 2)
}
