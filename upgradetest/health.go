package upgradetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/event"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/cli-utils/pkg/kstatus/watcher"
	"sigs.k8s.io/cli-utils/pkg/object"
)

// objectStatus is one object's kstatus as last seen.
type objectStatus struct {
	ID      object.ObjMetadata
	Status  status.Status
	Message string
}

func (o objectStatus) String() string {
	s := fmt.Sprintf("%s/%s: %s", o.ID.GroupKind.Kind, o.ID.Name, o.Status)
	if o.Message != "" {
		s += ": " + o.Message
	}
	return s
}

// unhealthyError says which objects did not become Current, and which pods wait on what.
type unhealthyError struct {
	reason   string // "timed out after 5m0s" or "failed"
	notReady []objectStatus
	pods     []string // from notReadyPods
}

func (e *unhealthyError) Error() string {
	var parts []string
	for _, o := range e.notReady {
		parts = append(parts, o.String())
	}
	parts = append(parts, e.pods...)
	return fmt.Sprintf("not healthy (%s): %s", e.reason, strings.Join(parts, "; "))
}

// podCheckInterval is how often waitHealthy looks at the pods themselves.
const podCheckInterval = 2 * time.Second

// manifestObjects lists the objects of a release manifest as kstatus identifiers.
func (s *scenario) manifestObjects(manifest string) (object.ObjMetadataSet, error) {
	if strings.TrimSpace(manifest) == "" {
		return nil, nil
	}
	resources, err := s.cfg.KubeClient.Build(strings.NewReader(manifest), false)
	if err != nil {
		return nil, fmt.Errorf("reading the release manifest: %w", err)
	}
	return idsOf(resources), nil
}

func idsOf(resources kube.ResourceList) object.ObjMetadataSet {
	var ids object.ObjMetadataSet
	for _, info := range resources {
		gk := info.Mapping.GroupVersionKind.GroupKind()
		ns := info.Namespace
		if info.Mapping.Scope.Name() != "namespace" {
			ns = ""
		}
		ids = append(ids, object.ObjMetadata{GroupKind: gk, Namespace: ns, Name: info.Name})
	}
	return ids
}

// waitHealthy follows the objects with kstatus' watcher (informers: list once, then watch)
// until every one is Current; it fails early when one is Failed or a pod is broken beyond
// waiting (checkPods: crash loops, images that can't be pulled), and at the timeout, naming
// the pods that are not ready and their readiness probes.
func (s *scenario) waitHealthy(parent context.Context, ids object.ObjMetadataSet, timeout time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	w := watcher.NewDefaultStatusWatcher(s.dynamic, s.getter.mapper)
	seen := make(map[object.ObjMetadata]objectStatus, len(ids))
	for _, id := range ids {
		seen[id] = objectStatus{ID: id, Status: status.UnknownStatus, Message: "no status seen yet"}
	}
	notCurrent := func() []objectStatus {
		var out []objectStatus
		for _, id := range ids {
			if o := seen[id]; o.Status != status.CurrentStatus {
				out = append(out, o)
			}
		}
		return out
	}
	events := w.Watch(ctx, ids, watcher.Options{})
	podCheck := time.NewTicker(podCheckInterval)
	defer podCheck.Stop()
	for {
		var ev event.Event
		var ok bool
		select {
		case ev, ok = <-events:
		case <-podCheck.C:
			if f := s.checkPods(ctx); f != nil {
				cancel()
				return f
			}
			continue
		}
		if !ok {
			break
		}
		switch ev.Type {
		case event.ResourceUpdateEvent:
			r := ev.Resource
			if r == nil {
				continue
			}
			seen[r.Identifier] = objectStatus{ID: r.Identifier, Status: r.Status, Message: r.Message}
			s.log.Debug("status", "object", r.Identifier.String(), "status", r.Status.String(), "message", r.Message)
			if r.Status == status.FailedStatus {
				cancel()
				return &unhealthyError{reason: "failed", notReady: notCurrent(), pods: s.notReadyPods(parent)}
			}
			if len(notCurrent()) == 0 {
				cancel()
				return nil
			}
		case event.ErrorEvent:
			if ctx.Err() != nil {
				continue
			}
			cancel()
			return fmt.Errorf("watching the release's objects: %w", ev.Error)
		}
	}
	if len(notCurrent()) == 0 {
		return nil
	}
	if parent.Err() != nil {
		return parent.Err()
	}
	if ctx.Err() != nil {
		nr := notCurrent()
		slices.SortFunc(nr, func(a, b objectStatus) int { return strings.Compare(a.String(), b.String()) })
		podCtx, cancelPods := context.WithTimeout(context.WithoutCancel(parent), 15*time.Second)
		defer cancelPods()
		if f := s.checkPods(podCtx); f != nil {
			return f
		}
		return &unhealthyError{reason: "timed out after " + timeout.String(), notReady: nr, pods: s.notReadyPods(podCtx)}
	}
	return errors.New("the status watcher stopped before the objects became healthy")
}
