package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/testcluster"
)

func upgradeTestdata(elem ...string) string {
	return filepath.Join(append([]string{"..", "..", "testdata", "upgradetest"}, elem...)...)
}

func TestUpgradeTestCommandWithoutContainerEngine(t *testing.T) {
	if exec.Command("docker", "info").Run() == nil {
		t.Skip("a Docker engine runs here")
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--from-file", upgradeTestdata("hello-1.0.0")}, &stdout, &stderr)
	assert.Equal(t, exitExternal, code)
	assert.Contains(t, stderr.String(), "--cluster kubeconfig")
}

func TestUpgradeTestCommandUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--cluster", "kubeconfig", "--breaking", "maybe"}, &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "--breaking")
}

// TestUpgradeTestCommand runs the command against the test cluster: a clean upgrade exits 0
// and writes the JSON report, the JUnit file and the result document; a breaking one exits 2.
func TestUpgradeTestCommand(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	dir := t.TempDir()
	junit, result := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "result.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "--output", "json", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--cluster", "kubeconfig", "--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0"),
		"--skip-tests", "--junit", junit, "--result", result}, &stdout, &stderr)
	require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
	var rep struct {
		Passed bool     `json:"passed"`
		From   []string `json:"from"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
	assert.True(t, rep.Passed)
	assert.Equal(t, []string{"1.0.0"}, rep.From)
	assert.FileExists(t, junit)
	doc, err := os.ReadFile(result)
	require.NoError(t, err)
	assert.Contains(t, string(doc), `"kubernetesVersion"`)

	// From-version from an OCI catalog: --catalog oci://… with the OCI flags.
	reg := registrytest.New(t)
	cat, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	hello, err := loader.Load(upgradeTestdata("hello-1.0.0"))
	require.NoError(t, err)
	tgz, err := chartutil.Save(hello, t.TempDir())
	require.NoError(t, err)
	pkg, err := chart.Open(tgz)
	require.NoError(t, err)
	_, err = cat.Publish(context.Background(), pkg)
	require.NoError(t, err)
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--cluster", "kubeconfig", "--kubeconfig", kc, "--catalog", reg.Ref("charts"), "--plain-http", "--skip-tests"}, &stdout, &stderr)
	require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "upgrade test PASSED: hello 1.1.0 from 1.0.0")

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.2.0-selector"),
		"--cluster", "kubeconfig", "--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0"), "--skip-tests"}, &stdout, &stderr)
	assert.Equal(t, exitCheck, code)
	assert.Contains(t, stdout.String(), "upgrade test FAILED")
	assert.Contains(t, stderr.String(), "field is immutable")
}
