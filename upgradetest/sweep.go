package upgradetest

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// namespaceLife is how long a scenario's namespace may live: each of a
// scenario's waits (install, hook, upgrade, tests, rollback, uninstall) is
// bounded by timeout, so 8 of them, and at least an hour.
func namespaceLife(timeout time.Duration) time.Duration {
	return max(8*timeout, time.Hour)
}

// namespaceMeta is what a scenario's namespace is created with.
func namespaceMeta(name string, now time.Time, timeout time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{managedByLabel: managedByValue},
		Annotations: map[string]string{expiresAnnotation: now.Add(namespaceLife(timeout)).UTC().Format(time.RFC3339)},
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
		if apierrors.IsNotFound(err) {
			continue // another run (a shard) swept it first
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
