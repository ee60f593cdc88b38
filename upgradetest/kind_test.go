package upgradetest_test

// The real-pod suite: chartship's own kind provider makes the clusters (`make test` prepares
// the engine and an offline node image with scripts/kind-env), the test app's image is
// side-loaded (--load-image) and every scenario runs on real containers.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/internal/testcluster"
	"github.com/chartship/chartship/upgradetest"
)

// appImage is the test app's image: Debian's static busybox, built into the engine here and
// side-loaded into the clusters; the chart never pulls it.
const appImage = "chartship.test/app:1.0"

var kind struct {
	once     sync.Once
	cluster  *upgradetest.Cluster
	name     string
	stateDir string
	err      error
}

// kindCluster is the shared kind cluster of the real-pod tests, created once through
// upgradetest.KindCluster with the app image loaded; TestMain deletes it.
func kindCluster(t testing.TB) *upgradetest.Cluster {
	t.Helper()
	image := testcluster.KindNodeImage(t)
	kind.once.Do(func() {
		if kind.err = testcluster.BuildBusyboxImage(appImage); kind.err != nil {
			return
		}
		kind.stateDir, kind.err = os.MkdirTemp("", "chartship-kind-state-")
		if kind.err != nil {
			return
		}
		kind.name = fmt.Sprintf("cs-test-%d", os.Getpid())
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		kind.cluster, kind.err = upgradetest.KindCluster(ctx, upgradetest.KindOptions{
			Name: kind.name, NodeImage: image, LoadImages: []string{appImage}, StateDir: kind.stateDir,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		})
	})
	require.NoError(t, kind.err, "creating the shared kind cluster")
	return kind.cluster
}

func closeKindCluster() {
	if kind.cluster != nil {
		if err := kind.cluster.Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "deleting the shared kind cluster:", err)
		}
	}
	if kind.stateDir != "" {
		os.RemoveAll(kind.stateDir)
	}
}

// appCharts returns the app chart at 1.0.0 (saved as a package, the from-version) and at
// 1.1.0 with vals merged into its values: each way to break an upgrade is a to-version.
func appCharts(t testing.TB, vals map[string]any) (fromFile string, to *chart.Chart) {
	return appChartsFrom(t, nil, vals)
}

// appChartsFrom is appCharts with fromVals merged into both versions' values.
func appChartsFrom(t testing.TB, fromVals, vals map[string]any) (fromFile string, to *chart.Chart) {
	t.Helper()
	from := withValues(t, loadChart(t, "app-1.0.0"), fromVals)
	fromFile, err := chartutil.Save(from, t.TempDir())
	require.NoError(t, err)
	to = withValues(t, loadChart(t, "app-1.0.0"), fromVals)
	to.Metadata.Version, to.Metadata.AppVersion = "1.1.0", "1.1.0"
	to = withValues(t, to, map[string]any{"message": "hello from app 1.1.0"})
	return fromFile, withValues(t, to, vals)
}

// withValues merges vals into the chart's values, in memory and in its values.yaml (which
// chartutil.Save writes as it is).
func withValues(t testing.TB, c *chart.Chart, vals map[string]any) *chart.Chart {
	t.Helper()
	if len(vals) == 0 {
		return c
	}
	for k, v := range vals {
		c.Values[k] = v
	}
	data, err := yaml.Marshal(c.Values)
	require.NoError(t, err)
	for _, f := range c.Raw {
		if f.Name == chartutil.ValuesfileName {
			f.Data = data
		}
	}
	return c
}

// podsSeen records, per namespace, the app's pods that ran for real: Ready, with a
// container ID from the node's containerd and the image the node resolved.
type podsSeen struct {
	mu   sync.Mutex
	real map[string]map[string]string // namespace → pod → image ID
	pvcs map[string]string            // namespace/claim → phase/storage class
}

func watchPods(t *testing.T, c *upgradetest.Cluster) *podsSeen {
	t.Helper()
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	require.NoError(t, err)
	seen := &podsSeen{real: map[string]map[string]string{}, pvcs: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=app"})
			if err == nil {
				seen.mu.Lock()
				for _, p := range pods.Items {
					for _, cs := range p.Status.ContainerStatuses {
						if cs.Ready && strings.HasPrefix(cs.ContainerID, "containerd://") && cs.ImageID != "" {
							if seen.real[p.Namespace] == nil {
								seen.real[p.Namespace] = map[string]string{}
							}
							seen.real[p.Namespace][p.Name] = cs.ImageID
						}
					}
				}
				seen.mu.Unlock()
			}
			if claims, err := client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{}); err == nil {
				seen.mu.Lock()
				for _, pvc := range claims.Items {
					class := ""
					if pvc.Spec.StorageClassName != nil {
						class = *pvc.Spec.StorageClassName
					}
					seen.pvcs[pvc.Namespace+"/"+pvc.Name] = string(pvc.Status.Phase) + "/" + class
				}
				seen.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return seen
}

func (s *podsSeen) realPods(namespace string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.real[namespace] {
		out[k] = v
	}
	return out
}

func (s *podsSeen) claims(namespace string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.pvcs {
		if ns, name, _ := strings.Cut(k, "/"); ns == namespace {
			out[name] = v
		}
	}
	return out
}

func runKind(t *testing.T, c *upgradetest.Cluster, opts upgradetest.Options) (*upgradetest.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	rep, err := upgradetest.Run(ctx, c, opts)
	require.NotNil(t, rep, "no report: %v", err)
	require.Len(t, rep.Scenarios, 1)
	return rep, err
}

// failedStep is the first failed step's name and error.
func failedStep(t *testing.T, rep *upgradetest.Report) (string, string) {
	t.Helper()
	st := rep.Scenarios[0].FailedStep()
	require.NotNil(t, st, "a failed step")
	return st.Name, st.Error
}

func TestKindRealPods(t *testing.T) {
	t.Parallel() // beside TestKindProvider: two clusters at once
	c := kindCluster(t)
	seen := watchPods(t, c)

	t.Run("healthy upgrade and rollback", func(t *testing.T) {
		t.Parallel()
		fromFile, to := appCharts(t, nil)
		rep, err := runKind(t, c, upgradetest.Options{Chart: to, FromFile: fromFile, RollbackCheck: true})
		require.NoError(t, err, reportText(rep))
		sc := rep.Scenarios[0]
		assert.True(t, sc.Passed)
		var names []string
		for _, st := range sc.Steps {
			names = append(names, st.Name)
			assert.True(t, st.Passed, "%s: %s", st.Name, st.Error)
		}
		assert.Equal(t, []string{"install 1.0.0", "healthy after install", "helm test after install",
			"upgrade to 1.1.0", "healthy after upgrade", "helm test after upgrade",
			"rollback to 1.0.0", "healthy after rollback", "uninstall"}, names)
		// helm test fetched the page through the Service: the 1.1.0 message after the upgrade
		assert.Contains(t, sc.Steps[5].Details, "Pod/")
		assert.Regexp(t, `^v1\.\d+\.\d+`, rep.KubernetesVersion)
		// Real containers ran: ready, with containerd IDs, from the side-loaded image. The
		// Deployment rolled three times (install, upgrade, rollback): at least three pods.
		pods := seen.realPods(sc.Namespace)
		assert.GreaterOrEqual(t, len(pods), 3, "ready app pods seen in %s: %v", sc.Namespace, pods)
		for _, id := range pods {
			assert.Contains(t, id, "sha256:")
		}
	})

	t.Run("crash loop", func(t *testing.T) {
		t.Parallel()
		fromFile, to := appCharts(t, map[string]any{"mode": "crash"})
		rep, err := runKind(t, c, upgradetest.Options{Chart: to, FromFile: fromFile, SkipTests: true})
		require.ErrorIs(t, err, upgradetest.ErrFailed)
		step, msg := failedStep(t, rep)
		assert.Equal(t, "healthy after upgrade", step)
		assert.Regexp(t, `pod app-app-[a-z0-9]+-[a-z0-9]+: container app: CrashLoopBackOff: exit code 1 \(Error\), restarted \d+ times`, msg)
		assert.Contains(t, msg, "configuration invalid: database.url is not set", "the container's last log lines")
		assert.Contains(t, rep.Scenarios[0].FailedStep().Details, "app 1.1.0 starting in mode crash", "diagnostics show the previous run's log")
	})

	t.Run("readiness never passes", func(t *testing.T) {
		t.Parallel()
		fromFile, to := appCharts(t, map[string]any{"mode": "never-ready"})
		rep, err := runKind(t, c, upgradetest.Options{Chart: to, FromFile: fromFile, SkipTests: true, Timeout: 40 * time.Second})
		require.ErrorIs(t, err, upgradetest.ErrFailed)
		step, msg := failedStep(t, rep)
		assert.Equal(t, "healthy after upgrade", step)
		assert.Contains(t, msg, "timed out after 40s")
		assert.Regexp(t, `pod app-app-[a-z0-9]+-[a-z0-9]+: container app not ready \(running\): readiness probe http-get /healthz on port http: Readiness probe failed: HTTP probe failed with statuscode: 404`, msg)
	})

	t.Run("image cannot be pulled", func(t *testing.T) {
		t.Parallel()
		// A registry address on the node's own loopback that nothing listens on: the pull is
		// refused at once and nothing leaves the node.
		fromFile, to := appCharts(t, map[string]any{"image": map[string]any{
			"repository": "127.0.0.1:9/chartship/missing", "tag": "1.1.0", "pullPolicy": "IfNotPresent"}})
		rep, err := runKind(t, c, upgradetest.Options{Chart: to, FromFile: fromFile, SkipTests: true})
		require.ErrorIs(t, err, upgradetest.ErrFailed)
		step, msg := failedStep(t, rep)
		assert.Equal(t, "healthy after upgrade", step)
		assert.Regexp(t, `container app: (ErrImagePull|ImagePullBackOff): image 127\.0\.0\.1:9/chartship/missing:1\.1\.0 cannot be pulled: .*connection refused`, msg)
	})

	t.Run("pre-upgrade hook fails", func(t *testing.T) {
		t.Parallel()
		fromFile, to := appCharts(t, map[string]any{"hookExitCode": 3})
		rep, err := runKind(t, c, upgradetest.Options{Chart: to, FromFile: fromFile, SkipTests: true})
		require.ErrorIs(t, err, upgradetest.ErrFailed)
		step, msg := failedStep(t, rep)
		assert.Equal(t, "upgrade to 1.1.0", step)
		assert.Contains(t, msg, "pre-upgrade hooks failed")
		assert.Regexp(t, `pod app-app-migrate-[a-z0-9]+: container migrate exited with code 3 \(Error\); last log lines: .*column users\.email is missing`, msg)
	})

	t.Run("helm test fails", func(t *testing.T) {
		t.Parallel()
		fromFile, to := appCharts(t, map[string]any{"testExitCode": 4})
		rep, err := runKind(t, c, upgradetest.Options{Chart: to, FromFile: fromFile})
		require.ErrorIs(t, err, upgradetest.ErrFailed)
		step, msg := failedStep(t, rep)
		assert.Equal(t, "helm test after upgrade", step)
		assert.Contains(t, msg, "pod app-app-test: container fetch exited with code 4 (Error)")
		assert.Contains(t, msg, "test: got: hello from app 1.1.0", "the test pod fetched the new page through the Service")
		assert.Contains(t, msg, "test: failing on purpose")
	})

	t.Run("statefulset with a volume", func(t *testing.T) {
		t.Parallel()
		fromFile, to := appChartsFrom(t, map[string]any{"statefulset": true}, nil)
		rep, err := runKind(t, c, upgradetest.Options{Chart: to, FromFile: fromFile})
		require.NoError(t, err, reportText(rep))
		sc := rep.Scenarios[0]
		claims := seen.claims(sc.Namespace)
		assert.Equal(t, map[string]string{"data-app-app-0": "Bound/standard"}, claims, "the StatefulSet's claim, bound by kind's local-path storage")
		pods := seen.realPods(sc.Namespace)
		assert.Contains(t, pods, "app-app-0")
	})
}

// TestKindProvider: reuse, ownership, a cluster a killed run left behind, two clusters at
// once.
func TestKindProvider(t *testing.T) {
	t.Parallel()
	image := testcluster.KindNodeImage(t)
	shared := kindCluster(t)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	t.Run("reuse does not delete", func(t *testing.T) {
		ctx := runCtx(t)
		c, err := upgradetest.KindCluster(ctx, upgradetest.KindOptions{Name: kind.name, NodeImage: image, StateDir: kind.stateDir, Logger: logger})
		require.NoError(t, err)
		require.NoError(t, c.Close(ctx))
		assert.Contains(t, testcluster.KindClusters(t), kind.name, "a run that reused the cluster leaves it to its creator")
		_, err = shared.KubernetesVersion()
		require.NoError(t, err)
	})

	t.Run("recovers from a killed run, next to another cluster", func(t *testing.T) {
		name := fmt.Sprintf("cs-killed-%d", os.Getpid())
		stateDir := t.TempDir()
		// A run that is killed while kind creates its cluster.
		cmd := exec.Command(os.Args[0], "-test.run=^TestKindHelperProcess$")
		cmd.Env = append(os.Environ(), "CHARTSHIP_KIND_HELPER="+name, "CHARTSHIP_KIND_HELPER_STATE="+stateDir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(3 * time.Minute)
		for !slices.Contains(testcluster.KindClusters(t), name) {
			require.True(t, time.Now().Before(deadline), "the helper never started a kind cluster:\n%s", out.String())
			time.Sleep(500 * time.Millisecond)
		}
		time.Sleep(3 * time.Second) // let kind get into the node's set-up
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		require.Contains(t, testcluster.KindClusters(t), name, "the killed run left its cluster behind")

		// The next run with that name recovers it, while the shared cluster runs tests.
		ctx := runCtx(t)
		c, err := upgradetest.KindCluster(ctx, upgradetest.KindOptions{Name: name, NodeImage: image, StateDir: stateDir,
			LoadImages: []string{appImage}, Logger: logger})
		require.NoError(t, err)
		fromFile, to := appCharts(t, nil)
		rep, err := runKind(t, c, upgradetest.Options{Chart: to, FromFile: fromFile, SkipTests: true})
		require.NoError(t, err, reportText(rep))
		assert.Equal(t, "kind:"+name, rep.Cluster)
		require.NoError(t, c.Close(ctx))
		assert.NotContains(t, testcluster.KindClusters(t), name, "the recovered cluster was deleted by the run that adopted it")
		assert.Contains(t, testcluster.KindClusters(t), kind.name, "the other cluster is untouched")
	})
}

// TestKindHelperProcess is not a test: TestKindProvider runs the test binary with it to have
// a chartship run it can kill.
func TestKindHelperProcess(t *testing.T) {
	name := os.Getenv("CHARTSHIP_KIND_HELPER")
	if name == "" {
		t.Skip("helper process for TestKindProvider")
	}
	_, err := upgradetest.KindCluster(context.Background(), upgradetest.KindOptions{Name: name,
		NodeImage: os.Getenv(testcluster.EnvKindNodeImage), StateDir: os.Getenv("CHARTSHIP_KIND_HELPER_STATE")})
	t.Logf("KindCluster returned: %v", err)
	time.Sleep(time.Hour)
}

func reportText(rep *upgradetest.Report) string {
	var b bytes.Buffer
	rep.Text(&b)
	return b.String()
}
