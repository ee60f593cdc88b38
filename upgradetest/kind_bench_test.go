package upgradetest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chartship/chartship/internal/testcluster"
	"github.com/chartship/chartship/upgradetest"
)

// BenchmarkKindUpgradeTestVsHelm4 compares, on the same kind cluster (real pods) and the
// same app chart, chartship's upgrade test (install 1.0.0 → healthy → upgrade to 1.1.0 →
// healthy, no test hooks; namespace set-up and uninstall included) with the Helm 4 CLI's own
// `helm install --wait=watcher` + `helm upgrade --wait=watcher` (its kstatus watcher). The
// helm binary is the real Helm 4 (helm.sh/helm/v4, built by scripts/bench in a throwaway
// module, never in chartship's go.mod), given in CHARTSHIP_HELM4. Reports both times per op
// and the ratio helm4/chartship.
//
//	CHARTSHIP_HELM4=$(scripts/bench helm4) go test -run '^$' -bench KindUpgradeTestVsHelm4 -benchtime 5x ./upgradetest/
func BenchmarkKindUpgradeTestVsHelm4(b *testing.B) {
	helm := os.Getenv("CHARTSHIP_HELM4")
	if helm == "" {
		b.Skip("CHARTSHIP_HELM4 names the Helm 4 CLI (scripts/bench builds it)")
	}
	testcluster.KindNodeImage(b)
	c := kindCluster(b)
	fromFile, to := appCharts(b, nil)
	toFile, err := chartutil.Save(to, b.TempDir())
	require.NoError(b, err)
	kc, err := c.Kubeconfig()
	require.NoError(b, err)
	kcPath := filepath.Join(b.TempDir(), "kubeconfig")
	require.NoError(b, os.WriteFile(kcPath, kc, 0o600))
	ctx := context.Background()
	var ours, helms time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		rep, err := upgradetest.Run(ctx, c, upgradetest.Options{Chart: to, FromFile: fromFile, SkipTests: true, Timeout: 2 * time.Minute})
		require.NoError(b, err)
		require.True(b, rep.Passed)
		ours += time.Since(t0)

		ns := fmt.Sprintf("bench-helm4-%d-%d", time.Now().UnixNano()%1e6, i)
		t0 = time.Now()
		helm4(b, helm, kcPath, "install", "app", fromFile, "-n", ns, "--create-namespace", "--wait=watcher", "--timeout", "2m")
		helm4(b, helm, kcPath, "upgrade", "app", toFile, "-n", ns, "--wait=watcher", "--timeout", "2m")
		helm4(b, helm, kcPath, "uninstall", "app", "-n", ns, "--wait")
		helms += time.Since(t0)
		b.StopTimer()
		deleteNamespace(b, c, ns)
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()/n, "chartship-s/op")
	b.ReportMetric(helms.Seconds()/n, "helm4-s/op")
	b.ReportMetric(helms.Seconds()/ours.Seconds(), "helm4/chartship")
}

// BenchmarkKindCluster times what --cluster kind costs: creating a cluster from the node
// image (cold: create-s/op) and handing out one that exists (reuse-s/op).
//
//	go test -run '^$' -bench KindCluster -benchtime 1x ./upgradetest/
func BenchmarkKindCluster(b *testing.B) {
	image := testcluster.KindNodeImage(b)
	ctx := context.Background()
	state := b.TempDir()
	var create, reuse time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("cs-bench-%d-%d", os.Getpid(), i)
		t0 := time.Now()
		c, err := upgradetest.KindCluster(ctx, upgradetest.KindOptions{Name: name, NodeImage: image, StateDir: state})
		require.NoError(b, err)
		create += time.Since(t0)
		t0 = time.Now()
		again, err := upgradetest.KindCluster(ctx, upgradetest.KindOptions{Name: name, NodeImage: image, StateDir: state})
		require.NoError(b, err)
		reuse += time.Since(t0)
		require.NoError(b, again.Close(ctx))
		require.NoError(b, c.Close(ctx))
	}
	b.ReportMetric(create.Seconds()/float64(b.N), "create-s/op")
	b.ReportMetric(reuse.Seconds()/float64(b.N), "reuse-s/op")
}

func deleteNamespace(b *testing.B, c *upgradetest.Cluster, ns string) {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	require.NoError(b, err)
	_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
}

func helm4(b *testing.B, helm, kubeconfig string, args ...string) {
	b.Helper()
	cmd := exec.Command(helm, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(b, cmd.Run(), "helm %v:\n%s", args, out.String())
}
