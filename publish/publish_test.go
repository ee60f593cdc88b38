package publish_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/publish"
)

// TestRunIsResumable: when one catalog fails, the others are still written and
// the error names the failed one; running again finishes the job without
// writing anything twice.
func TestRunIsResumable(t *testing.T) {
	reg := registrytest.New(t)
	bare := filepath.Join(t.TempDir(), "catalog.git")
	gittest.InitBare(t, bare)
	gittest.Seed(t, bare, map[string]string{"README.md": "catalog\n"}, "init")

	oci, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	git, err := catalog.Open("git+file://"+bare, catalog.Options{})
	require.NoError(t, err)
	path, err := chartutil.Save(&helmchart.Chart{Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "hello", Version: "1.0.0"}}, t.TempDir())
	require.NoError(t, err)
	pkg, err := chart.Open(path)
	require.NoError(t, err)
	targets := []publish.Target{oci, git}

	// The registry refuses every manifest: the OCI publish fails, the git one lands.
	reg.InjectFaults(registrytest.FailMatching("PUT", "/manifests/", 1000, registrytest.Fault{Status: 503}))
	res, err := publish.Run(context.Background(), pkg, targets, publish.Options{})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), oci.String()), "the error names the failed catalog: %v", err)
	assert.ErrorIs(t, err, errdef.ErrExternal)
	assert.Equal(t, catalog.Status(""), res[0].Status)
	assert.Equal(t, catalog.Published, res[1].Status)
	_, err = oci.Versions(context.Background(), "hello")
	assert.ErrorIs(t, err, catalog.ErrNotFound, "nothing half-tagged")

	// The registry is back: a re-run publishes to it and leaves git alone.
	reg.InjectFaults(nil)
	head := gittest.Git(t, bare, "rev-parse", "main")
	res, err = publish.Run(context.Background(), pkg, targets, publish.Options{Parallel: 1})
	require.NoError(t, err)
	assert.Equal(t, catalog.Published, res[0].Status)
	assert.Equal(t, catalog.AlreadyPublished, res[1].Status)
	assert.Equal(t, head, gittest.Git(t, bare, "rev-parse", "main"))
	vs, err := oci.Versions(context.Background(), "hello")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0"}, vs)
}
