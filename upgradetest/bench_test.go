package upgradetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chartship/chartship/upgradetest"
)

// BenchmarkUpgradeTestVsHelm compares, in one run on the test cluster, chartship's upgrade
// test of the hello chart (install 1.0.0 → healthy → upgrade to 1.1.0 → healthy, no test
// hooks; its namespace set-up and uninstall included) with the bare helm-library sequence
// install(Wait) + upgrade(Wait), which polls every 2 s. It reports both times per op and
// the ratio helm/chartship (goal ≥ 2).
//
//	go test -run '^$' -bench UpgradeTestVsHelm -benchtime 5x ./upgradetest/
func BenchmarkUpgradeTestVsHelm(b *testing.B) {
	c := needCluster(b)
	from, to := loadChart(b, "hello-1.0.0"), loadChart(b, "hello-1.1.0")
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	require.NoError(b, err)
	ctx := context.Background()
	var ours, helms time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		rep, err := upgradetest.Run(ctx, c, upgradetest.Options{Chart: to, FromFile: testdata(b, "hello-1.0.0"),
			SkipTests: true, Timeout: 2 * time.Minute})
		require.NoError(b, err)
		require.True(b, rep.Passed)
		ours += time.Since(t0)

		ns := fmt.Sprintf("bench-helm-%d-%d", time.Now().UnixNano()%1e6, i)
		helms += helmInstallUpgrade(b, ctx, c, cs, ns, from, to)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()/n, "chartship-s/op")
	b.ReportMetric(helms.Seconds()/n, "helm-s/op")
	b.ReportMetric(helms.Seconds()/ours.Seconds(), "helm/chartship")
}

// helmInstallUpgrade times helm's own install(Wait)+upgrade(Wait) in namespace ns.
func helmInstallUpgrade(b *testing.B, ctx context.Context, c *upgradetest.Cluster, cs kubernetes.Interface, ns string, from, to *chart.Chart) time.Duration {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(b, err)
	defer func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	}()
	getter, err := c.RESTClientGetter(ns)
	require.NoError(b, err)
	cfg := new(action.Configuration)
	require.NoError(b, cfg.Init(getter, ns, "secret", func(string, ...any) {}))
	vals := map[string]any{"replicaCount": 2, "greeting": "Hello from CI"}

	t0 := time.Now()
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace, in.Wait, in.Timeout = "hello", ns, true, 2*time.Minute
	_, err = in.RunWithContext(ctx, from, vals)
	require.NoError(b, err)
	up := action.NewUpgrade(cfg)
	up.Namespace, up.Wait, up.Timeout = ns, true, 2*time.Minute
	_, err = up.RunWithContext(ctx, "hello", to, vals)
	require.NoError(b, err)
	d := time.Since(t0)

	_, err = action.NewUninstall(cfg).Run("hello")
	require.NoError(b, err)
	return d
}
