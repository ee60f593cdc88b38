package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
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

// packageTestdata packages the chart upgradeTestdata(name) and returns the
// archive's path.
func packageTestdata(t *testing.T, name string) string {
	t.Helper()
	c, err := loader.Load(upgradeTestdata(name))
	require.NoError(t, err)
	tgz, err := chartutil.Save(c, t.TempDir())
	require.NoError(t, err)
	return tgz
}

// publishTestdata publishes the chart upgradeTestdata(name) to reg's charts
// repository over plain HTTP.
func publishTestdata(t *testing.T, reg *registrytest.Registry, name string) {
	t.Helper()
	cat, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	pkg, err := chart.Open(packageTestdata(t, name))
	require.NoError(t, err)
	_, err = cat.Publish(context.Background(), pkg)
	require.NoError(t, err)
}

// appChart110 is a copy of the app chart (upgradeTestdata "app-1.0.0") at
// version 1.1.0, to upgrade the original to.
func appChart110(t *testing.T) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "app")
	require.NoError(t, os.CopyFS(to, os.DirFS(upgradeTestdata("app-1.0.0"))))
	chartYAML := filepath.Join(to, "Chart.yaml")
	b, err := os.ReadFile(chartYAML)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(chartYAML, bytes.Replace(b, []byte("version: 1.0.0"), []byte("version: 1.1.0"), 1), 0o644))
	return to
}

// kindAppUpgrade is the upgrade-test arguments that upgrade the app chart from
// 1.0.0 to 1.1.0 on a kind cluster named name which the run creates, the app
// image built here and side-loaded.
func kindAppUpgrade(t *testing.T, name string) []string {
	t.Helper()
	image := testcluster.KindNodeImage(t)
	const appImage = "chartship.test/app:1.0"
	require.NoError(t, testcluster.BuildBusyboxImage(appImage))
	return []string{appChart110(t), "--cluster", "kind", "--kind-name", name, "--kind-node-image", image, "--load-image", appImage,
		"--from-file", upgradeTestdata("app-1.0.0")}
}

func TestUpgradeTestCommandWithoutContainerEngine(t *testing.T) {
	// An engine that does not answer, whatever runs on this machine.
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-engine.sock"))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--from-file", upgradeTestdata("hello-1.0.0")}, &stdout, &stderr)
	assert.Equal(t, exitExternal, code)
	assert.Contains(t, stderr.String(), "--cluster kubeconfig")
}

// TestUpgradeTestCommandKind runs the command as a pipeline would, on a kind cluster it
// creates itself with the app image side-loaded, and checks it deleted the cluster after.
func TestUpgradeTestCommandKind(t *testing.T) {
	name := fmt.Sprintf("cs-cmd-%d", os.Getpid())
	junit := filepath.Join(t.TempDir(), "junit.xml")
	var stdout, stderr bytes.Buffer
	args := append([]string{"chartship", "--output", "json", "--log-format", "plain", "upgrade-test"}, kindAppUpgrade(t, name)...)
	code := run(context.Background(), append(args, "--junit", junit), &stdout, &stderr)
	require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
	var rep struct {
		Passed            bool     `json:"passed"`
		From              []string `json:"from"`
		Cluster           string   `json:"cluster"`
		KubernetesVersion string   `json:"kubernetesVersion"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), stdout.String())
	assert.True(t, rep.Passed)
	assert.Equal(t, []string{"1.0.0"}, rep.From)
	assert.Equal(t, "kind:"+name, rep.Cluster)
	assert.NotEmpty(t, rep.KubernetesVersion)
	assert.Contains(t, stderr.String(), "creating kind cluster")
	assert.Contains(t, stderr.String(), "loaded image into the cluster")
	assert.FileExists(t, junit)
	assert.NotContains(t, testcluster.KindClusters(t), name, "the cluster this run created is deleted")
}

// TestUpgradeTestCommandKubeconfigMeansCluster: --kubeconfig alone picks the kubeconfig
// cluster; kind (here without an engine) is not tried.
func TestUpgradeTestCommandKubeconfigMeansCluster(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-engine.sock"))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "--output", "json", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0"), "--skip-tests"}, &stdout, &stderr)
	require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
	var rep struct {
		Cluster string `json:"cluster"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), stdout.String())
	assert.Equal(t, "kubeconfig:"+kc, rep.Cluster)
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
	publishTestdata(t, reg, "hello-1.0.0")
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--cluster", "kubeconfig", "--kubeconfig", kc, "--from-catalog", reg.Ref("charts"), "--plain-http", "--skip-tests"}, &stdout, &stderr)
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

// TestUpgradeTestCommandSet: --set and --set-file reach every scenario as helm spells
// them (commas inside one --set kept): a nodeSelector no node has keeps the
// release from becoming healthy.
func TestUpgradeTestCommandSet(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	file := filepath.Join(t.TempDir(), "disk")
	require.NoError(t, os.WriteFile(file, []byte("from-a-file"), 0o644))
	for _, set := range [][]string{
		{"--set", "greeting=hi,nodeSelector.disktype=does-not-exist"},
		{"--set-file", "nodeSelector.disktype=" + file},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"chartship", "--output", "json", "upgrade-test", upgradeTestdata("hello-1.1.0"),
			"--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0"), "--skip-tests", "--timeout", "5s"}, set...)
		code := run(context.Background(), args, &stdout, &stderr)
		assert.Equal(t, exitCheck, code, "%v: %s", set, stderr.String())
		assert.Contains(t, stdout.String(), "FailedScheduling", set)
		assert.Contains(t, stdout.String(), "healthy after install", set)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0"), "--set", "a[=1"}, &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), `--set "a[=1"`)
}
