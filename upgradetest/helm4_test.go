package upgradetest_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/peertools"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/upgradetest"
)

// TestFromVersionHelm4Pushed: the from-version was pushed by the real helm 4 CLI
// (helm push), not by chartship; chartship finds it among the registry's tags, installs
// it and upgrades it to the new package.
func TestFromVersionHelm4Pushed(t *testing.T) {
	t.Parallel()
	needCluster(t)
	helm := peertools.Helm4(t)
	reg := registrytest.New(t)
	tgz, err := chartutil.Save(loadChart(t, "hello-1.0.0"), t.TempDir())
	require.NoError(t, err)
	home := t.TempDir()
	push := exec.Command(helm, "push", tgz, reg.Ref("charts"), "--plain-http")
	push.Env = []string{"HOME=" + home, "HELM_CONFIG_HOME=" + filepath.Join(home, "config"), "HELM_CACHE_HOME=" + filepath.Join(home, "cache"), "HELM_DATA_HOME=" + filepath.Join(home, "data")}
	out, err := push.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "Pushed: "+reg.Host+"/charts/hello:1.0.0")

	cat, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), Catalog: cat, SkipTests: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0"}, rep.From)
	assert.True(t, rep.Passed)
}
