package upgradetest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// diagnose collects what a person needs to see after a failed step: recent events, pod
// statuses with log tails, and the release's history. It never fails; what it can't read it
// says so.
func (s *scenario) diagnose(parent context.Context) string {
	if s.client == nil {
		return ""
	}
	// The step's context may be spent (timeout); diagnostics get their own short budget.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 20*time.Second)
	defer cancel()
	var b strings.Builder
	s.writeEvents(ctx, &b)
	s.writePods(ctx, &b)
	s.writeHistory(&b)
	return strings.TrimRight(b.String(), "\n")
}

func (s *scenario) writeEvents(ctx context.Context, w io.Writer) {
	evs, err := s.client.CoreV1().Events(s.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(w, "events: unavailable: %v\n", err)
		return
	}
	items := evs.Items
	when := func(e corev1.Event) time.Time {
		switch {
		case !e.LastTimestamp.IsZero():
			return e.LastTimestamp.Time
		case !e.EventTime.IsZero():
			return e.EventTime.Time
		}
		return e.CreationTimestamp.Time
	}
	slices.SortStableFunc(items, func(a, b corev1.Event) int { return when(a).Compare(when(b)) })
	if len(items) > 20 {
		items = items[len(items)-20:]
	}
	fmt.Fprintf(w, "events in %s (newest last):\n", s.namespace)
	if len(items) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, e := range items {
		fmt.Fprintf(w, "  %s %s %s/%s: %s\n", e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, strings.TrimSpace(e.Message))
	}
}

func (s *scenario) writePods(ctx context.Context, w io.Writer) {
	pods, err := s.client.CoreV1().Pods(s.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(w, "pods: unavailable: %v\n", err)
		return
	}
	fmt.Fprintf(w, "pods in %s:\n", s.namespace)
	if len(pods.Items) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, p := range pods.Items {
		fmt.Fprintf(w, "  %s: %s", p.Name, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			switch {
			case c.Type == corev1.PodReady:
				fmt.Fprintf(w, ", Ready=%s", c.Status)
			case c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse:
				fmt.Fprintf(w, ", not scheduled: %s", c.Reason)
			}
		}
		if p.Status.Reason != "" {
			fmt.Fprintf(w, " (%s)", p.Status.Reason)
		}
		fmt.Fprintln(w)
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(w, "    container %s: %s, restarts %d\n", cs.Name, containerState(cs.State), cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil {
				fmt.Fprintf(w, "      last run: %s, exit code %d\n", t.Reason, t.ExitCode)
			}
			// A container waiting to restart has no current log: show its last run's.
			previous := cs.RestartCount > 0 && cs.State.Running == nil
			for _, l := range s.logTail(ctx, p.Name, cs.Name, previous, 10) {
				fmt.Fprintf(w, "      | %s\n", l)
			}
		}
	}
}

func containerState(st corev1.ContainerState) string {
	switch {
	case st.Waiting != nil:
		return joinNonEmpty("waiting: "+st.Waiting.Reason, st.Waiting.Message)
	case st.Terminated != nil:
		return fmt.Sprintf("terminated: %s, exit code %d", st.Terminated.Reason, st.Terminated.ExitCode)
	case st.Running != nil:
		return "running"
	}
	return "unknown"
}

func (s *scenario) writeHistory(w io.Writer) {
	h := action.NewHistory(s.cfg)
	h.Max = 10
	revs, err := h.Run(s.release)
	if err != nil {
		fmt.Fprintf(w, "helm history %s: unavailable: %v\n", s.release, err)
		return
	}
	fmt.Fprintf(w, "helm history %s:\n", s.release)
	slices.SortFunc(revs, func(a, b *releaseT) int { return a.Version - b.Version })
	for _, r := range revs {
		fmt.Fprintf(w, "  %d %s %s-%s: %s\n", r.Version, r.Info.Status, r.Chart.Metadata.Name, r.Chart.Metadata.Version, oneLine(r.Info.Description))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
