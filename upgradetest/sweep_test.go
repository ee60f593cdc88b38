package upgradetest_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
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

	// Watch the namespaces runs create, to read the expiry they carry.
	w, err := cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=chartship-upgrade-test"})
	require.NoError(t, err)
	expiries := make(chan string, 100)
	go func() {
		for ev := range w.ResultChan() {
			if ns, ok := ev.Object.(*corev1.Namespace); ok && ev.Type == "ADDED" && strings.HasPrefix(ns.Name, "ut-") {
				select {
				case expiries <- ns.Annotations["chartship.dev/expires"]:
				default:
				}
			}
		}
	}()
	start := time.Now()
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), FromFile: testdata(t, "hello-1.0.0"), SkipTests: true})
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

	// The run's namespace (and any other run's) carried its expiry: at least an
	// hour ahead of its creation (8 × the 2 min timeout is less).
	w.Stop()
	require.Len(t, rep.Scenarios, 1)
	select {
	case e := <-expiries:
		at, err := time.Parse(time.RFC3339, e)
		require.NoError(t, err, "the expiry %q", e)
		assert.True(t, at.After(start.Add(59*time.Minute)), "expires at %s", e)
	default:
		t.Fatal("no namespace of a run was seen")
	}
	if len(rep.Swept) > 0 {
		var buf bytes.Buffer
		rep.Text(&buf)
		assert.Contains(t, buf.String(), "deleted 1 namespace(s) killed runs left behind past their expiry: "+namespaces["killed"].Name)
	}
}
