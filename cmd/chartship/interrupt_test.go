package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chartship/chartship/internal/testcluster"
)

// upgradeTestInHook starts a real chartship upgrade-test process with args, in a
// process group of its own, whose --hook writes the scenario's namespace and then
// sleeps; it waits until the hook runs and returns the process, the namespace and
// what the process printed so far.
func upgradeTestInHook(t *testing.T, args ...string) (cmd *exec.Cmd, ns string, stdout, stderr *bytes.Buffer) {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "hook-started")
	args = append([]string{"--log-format", "plain", "upgrade-test"}, args...)
	args = append(args, "--skip-tests", "--hook", `echo "$CHARTSHIP_NAMESPACE" > `+marker+`; exec sleep 120`)
	cmd = exec.Command(os.Args[0], args...) // the test binary as the CLI (TestMain)
	cmd.Env = append(os.Environ(), envRunAsCLI+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	deadline := time.Now().Add(5 * time.Minute) // a kind cluster is created first
	for ns == "" {
		require.True(t, time.Now().Before(deadline), "the hook never ran: %s", stderr.String())
		if b, err := os.ReadFile(marker); err == nil && strings.HasSuffix(string(b), "\n") {
			ns = strings.TrimSpace(string(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cmd, ns, stdout, stderr
}

// interruptUpgradeTest starts a real chartship upgrade-test process with args, waits
// until its hook runs, sends SIGINT (Ctrl-C) and checks it says "interrupted", prints
// no failure report and exits 130. It returns the scenario's namespace.
func interruptUpgradeTest(t *testing.T, args ...string) string {
	t.Helper()
	cmd, ns, stdout, stderr := upgradeTestInHook(t, args...)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "exit status: %v; stderr: %s", err, stderr.String())
	assert.Equal(t, exitSignal, exit.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "interrupted, cleaning up")
	assert.True(t, strings.HasSuffix(stderr.String(), "Error: interrupted\n"), stderr.String())
	assert.NotContains(t, stdout.String(), "FAILED", "no failure report")
	return ns
}

// TestUpgradeTestInterrupted: Ctrl-C during an upgrade test on a kubeconfig cluster
// leaves no release and no namespace behind.
func TestUpgradeTestInterrupted(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	ns := interruptUpgradeTest(t, upgradeTestdata("hello-1.1.0"), "--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0"))
	client := kubeClient(t, kc)
	got, err := client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
	if err == nil {
		assert.False(t, got.DeletionTimestamp.IsZero(), "namespace %s is being deleted", ns)
	} else {
		assert.True(t, apierrors.IsNotFound(err), err)
	}
	secrets, err := client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm"})
	require.NoError(t, err)
	assert.Empty(t, secrets.Items, "helm release uninstalled")
}

// TestUpgradeTestInterruptedKind: Ctrl-C deletes the kind cluster the run created.
func TestUpgradeTestInterruptedKind(t *testing.T) {
	name := fmt.Sprintf("cs-int-%d", os.Getpid())
	interruptUpgradeTest(t, kindAppUpgrade(t, name)...)
	assert.NotContains(t, testcluster.KindClusters(t), name, "the cluster this run created is deleted")
}

func kubeClient(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	c, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return c
}

// TestInterruptedExitCode: a run whose context a signal cancelled exits 130 and
// says "interrupted", whatever the command's own error was (JSON too).
func TestInterruptedExitCode(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errInterrupted)
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"chartship", "-o", "json", "publish", "nothing.tgz", "--to", "oci://registry.invalid/charts"}, &stdout, &stderr)
	assert.Equal(t, exitSignal, code)
	assert.Equal(t, "Error: interrupted\n", stderr.String())
	assert.JSONEq(t, `{"error":"interrupted","exitCode":130}`, stdout.String())
}

// TestUpgradeTestKilledRerunConverges: `chartship upgrade-test` SIGKILLed (its
// process group, hook included) in the middle of a scenario can't clean up: its
// namespace and release stay, carrying an expiry an hour ahead. A re-run passes
// beside it and leaves it alone (a live run's namespace looks the same); once
// the expiry has passed, the next run deletes it and says so.
func TestUpgradeTestKilledRerunConverges(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	client := kubeClient(t, kc)
	ctx := context.Background()
	base := []string{upgradeTestdata("hello-1.1.0"), "--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0")}
	cmd, ns, _, _ := upgradeTestInHook(t, base...)
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	_ = cmd.Wait()
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	left, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err, "the killed run's namespace stays")
	require.True(t, left.DeletionTimestamp.IsZero())
	expires, err := time.Parse(time.RFC3339, left.Annotations["chartship.dev/expires"])
	require.NoError(t, err, "the namespace carries its expiry")
	assert.True(t, expires.After(time.Now().Add(55*time.Minute)), "an hour ahead: %s", expires)
	releases, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
	require.NoError(t, err)
	assert.NotEmpty(t, releases.Items, "the killed run's release stays")

	// The re-run passes, and leaves the unexpired namespace alone.
	var out, errOut bytes.Buffer
	require.Equal(t, exitOK, run(ctx, append([]string{"chartship", "upgrade-test", "--skip-tests"}, base...), &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "upgrade test PASSED")
	assert.NotContains(t, out.String(), ns)
	left, err = client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err)
	require.True(t, left.DeletionTimestamp.IsZero(), "not expired: not touched")

	// An hour later (the expiry moved into the past), the next run deletes it.
	left.Annotations["chartship.dev/expires"] = time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	_, err = client.CoreV1().Namespaces().Update(ctx, left, metav1.UpdateOptions{})
	require.NoError(t, err)
	out.Reset()
	errOut.Reset()
	require.Equal(t, exitOK, run(ctx, append([]string{"chartship", "upgrade-test", "--skip-tests"}, base...), &out, &errOut), errOut.String())
	got, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err == nil {
		assert.False(t, got.DeletionTimestamp.IsZero(), "namespace %s is being deleted", ns)
	} else {
		assert.True(t, apierrors.IsNotFound(err), err)
	}
	if !strings.Contains(out.String(), ns) { // another test's run on this cluster may have swept it first
		t.Logf("swept by another run: %s", out.String())
	} else {
		assert.Contains(t, out.String(), "namespace(s) killed runs left behind past their expiry: ")
	}
}
