package upgradetest_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chartship/chartship/upgradetest"
)

// A run killed with SIGKILL can't delete its namespace: a later run deletes
// those past their chartship.dev/expires, and nothing else — not a live run's,
// not one without the annotation, not someone else's.
func TestRunSweepsNamespacesOfKilledRuns(t *testing.T) {
	c := needCluster(t)
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	require.NoError(t, err)
	ctx := context.Background()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	managed := map[string]string{"app.kubernetes.io/managed-by": "chartship-upgrade-test"}
	past, future := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	namespaces := map[string]metav1.ObjectMeta{
		"killed":   {Labels: managed, Annotations: map[string]string{"chartship.dev/expires": past}},
		"live":     {Labels: managed, Annotations: map[string]string{"chartship.dev/expires": future}},
		"older":    {Labels: managed}, // an older chartship's: no expiry known
		"foreign":  {Annotations: map[string]string{"chartship.dev/expires": past}},
		"mistyped": {Labels: managed, Annotations: map[string]string{"chartship.dev/expires": "yesterday"}},
	}
	for k, meta := range namespaces {
		meta.Name = "sweep-" + k + "-" + suffix
		namespaces[k] = meta
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: meta}, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), meta.Name, metav1.DeleteOptions{}) })
	}

	// Watch the namespaces runs create (from now: not the ones already there),
	// to read the expiry this run's carried.
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=chartship-upgrade-test"})
	require.NoError(t, err)
	w, err := cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=chartship-upgrade-test", ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	var mu sync.Mutex
	expiries := map[string]string{} // namespace → its expiry when created
	renewals := map[string]int{}    // namespace → updates of the expiry
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev := range w.ResultChan() {
			ns, ok := ev.Object.(*corev1.Namespace)
			if !ok {
				continue
			}
			mu.Lock()
			switch e := ns.Annotations["chartship.dev/expires"]; {
			case ev.Type == "ADDED":
				expiries[ns.Name] = e
			case ev.Type == "MODIFIED" && e != "" && ns.DeletionTimestamp == nil:
				renewals[ns.Name]++
			}
			mu.Unlock()
		}
	}()
	start := time.Now()
	// (the hook's second makes the renewed expiry differ: it has whole seconds)
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), FromFile: testdata(t, "hello-1.0.0"), SkipTests: true, Hook: "sleep 1.1"})
	require.NoError(t, err)
	// Other packages' tests run upgrade tests on this cluster too: one of them may
	// have swept it first. What this run swept is only what had expired.
	for _, ns := range rep.Swept {
		assert.NotContains(t, []string{namespaces["live"].Name, namespaces["older"].Name, namespaces["foreign"].Name, namespaces["mistyped"].Name}, ns)
	}
	got, err := cs.CoreV1().Namespaces().Get(ctx, namespaces["killed"].Name, metav1.GetOptions{})
	if err == nil {
		assert.NotNil(t, got.DeletionTimestamp, "the expired namespace is being deleted")
	}
	for _, k := range []string{"live", "older", "foreign", "mistyped"} {
		got, err := cs.CoreV1().Namespaces().Get(ctx, namespaces[k].Name, metav1.GetOptions{})
		require.NoError(t, err, k)
		assert.Nil(t, got.DeletionTimestamp, "%s stays", k)
	}

	// The run's namespace carried its expiry: an hour ahead of its creation
	// (4 × the 2 min timeout is less).
	w.Stop()
	<-watched
	require.Len(t, rep.Scenarios, 1)
	mu.Lock()
	e, seen := expiries[rep.Scenarios[0].Namespace]
	renewed := renewals[rep.Scenarios[0].Namespace]
	mu.Unlock()
	require.True(t, seen, "the run's namespace %s was seen created", rep.Scenarios[0].Namespace)
	at, err := time.Parse(time.RFC3339, e)
	require.NoError(t, err, "the expiry %q", e)
	assert.True(t, at.After(start.Add(59*time.Minute)), "expires at %s", e)
	assert.Positive(t, renewed, "the lease is renewed as the steps start")
	if slices.Contains(rep.Swept, namespaces["killed"].Name) {
		var buf bytes.Buffer
		rep.Text(&buf)
		assert.Contains(t, buf.String(), fmt.Sprintf("deleted %d namespace(s) killed runs left behind past their expiry: ", len(rep.Swept)))
		assert.Contains(t, buf.String(), namespaces["killed"].Name)
	}
}
