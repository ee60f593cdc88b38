package upgradetest

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// The namespaces of a run carry when another run may delete them. A run that
// is killed (SIGKILL, a CI job cancelled hard) can't delete its own, and a
// shared test cluster would fill up with them; a later run deletes those past
// their expiry, and never a live run's.
const (
	managedByLabel    = "app.kubernetes.io/managed-by"
	managedByValue    = "chartship-upgrade-test"
	expiresAnnotation = "chartship.dev/expires"
)

// namespaceLease is how long a scenario's namespace may go without its run
// renewing the expiry, which it does as each step starts: a step is one wait
// bounded by timeout (helm's hooks each get their own), so 4 of them, and at
// least an hour.
func namespaceLease(timeout time.Duration) time.Duration {
	return max(4*timeout, time.Hour)
}

func expiresAt(now time.Time, timeout time.Duration) string {
	return now.Add(namespaceLease(timeout)).UTC().Format(time.RFC3339)
}

// namespaceMeta is what a scenario's namespace is created with.
func namespaceMeta(name string, now time.Time, timeout time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{managedByLabel: managedByValue},
		Annotations: map[string]string{expiresAnnotation: expiresAt(now, timeout)},
	}
}

// renewLease moves the namespace's expiry a lease ahead of now. A failure is
// only logged: the lease it had still runs.
func renewLease(ctx context.Context, client kubernetes.Interface, name string, now time.Time, timeout time.Duration, log *slog.Logger) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{expiresAnnotation: expiresAt(now, timeout)}}})
	if err == nil {
		_, err = client.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	}
	if err != nil {
		log.Debug("could not renew the namespace's expiry", "namespace", name, "err", err)
	}
}

// sweepExpired deletes the namespaces earlier runs left past their expiry and
// returns their names. Namespaces without the annotation (someone else's, or an
// older chartship's) stay. A cluster that doesn't let this run list or delete
// namespaces is only logged: the sweep is housekeeping, not the test.
func sweepExpired(ctx context.Context, client kubernetes.Interface, now time.Time, log *slog.Logger) []string {
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: managedByLabel + "=" + managedByValue})
	if err != nil {
		log.Debug("not sweeping the namespaces of killed runs: can't list them", "err", err)
		return nil
	}
	var swept []string
	for _, ns := range list.Items {
		if !expired(ns, now) {
			continue
		}
		bg := metav1.DeletePropagationBackground
		err := client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			continue // another run (a shard) swept it first: gone, or still terminating
		}
		if err != nil {
			log.Warn("could not delete the namespace a killed run left behind", "namespace", ns.Name, "err", err)
			continue
		}
		log.Info("deleted the namespace a killed run left behind", "namespace", ns.Name, "expired", ns.Annotations[expiresAnnotation])
		swept = append(swept, ns.Name)
	}
	return swept
}

func expired(ns corev1.Namespace, now time.Time) bool {
	if ns.DeletionTimestamp != nil {
		return false // already going
	}
	at, err := time.Parse(time.RFC3339, ns.Annotations[expiresAnnotation])
	return err == nil && now.After(at)
}
