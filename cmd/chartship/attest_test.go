package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/internal/testcluster"
)

// TestUpgradeTestCommandAttest: upgrade-test --attest signs the report onto the tested
// version already in the registry; verify --require-upgrade-test then accepts the upgrade
// from the previous release. --attest without a key, or with a non-OCI catalog, is refused
// before the test runs.
func TestUpgradeTestCommandAttest(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", filepath.Join(t.TempDir(), "config.json"))
	code, _, errOut := runCLI(t, "upgrade-test", upgradeTestdata("hello-1.1.0"), "--catalog", "oci://example.com/charts", "--attest")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--attest signs: give --cosign-key")
	key, pub := signtest.KeyPair(t, t.TempDir(), "pw")
	t.Setenv("COSIGN_PASSWORD", "pw")
	code, _, errOut = runCLI(t, "upgrade-test", upgradeTestdata("hello-1.1.0"), "--catalog", "https://charts.example.com", "--attest", "--cosign-key", key)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "give --from-catalog oci://REGISTRY/NAMESPACE")

	kc := testcluster.Kubeconfig(t)
	reg := registrytest.New(t)
	cat, err := oci.Open(reg.Ref("charts"), oci.Options{PlainHTTP: true})
	require.NoError(t, err)
	for _, name := range []string{"hello-1.0.0", "hello-1.1.0"} {
		c, err := loader.Load(upgradeTestdata(name))
		require.NoError(t, err)
		tgz, err := chartutil.Save(c, t.TempDir())
		require.NoError(t, err)
		pkg, err := chart.Open(tgz)
		require.NoError(t, err)
		_, err = cat.Publish(context.Background(), pkg)
		require.NoError(t, err)
	}
	code, _, errOut = runCLI(t, "upgrade-test", upgradeTestdata("hello-1.1.0"), "--cluster", "kubeconfig", "--kubeconfig", kc,
		"--catalog", reg.Ref("charts"), "--plain-http", "--skip-tests", "--attest", "--cosign-key", key)
	require.Equal(t, exitOK, code, errOut)
	code, out, errOut := runCLI(t, "verify", reg.Ref("charts")+"/hello:1.1.0", "--plain-http", "--cosign-key", pub, "--require-upgrade-test")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "upgrade test passed: hello 1.1.0 from 1.0.0")
}
