package upgradetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Pod-level health: kstatus says a Deployment is still "InProgress" while its new pods crash
// or can't pull their image, until the rollout's progress deadline (10 minutes by default).
// These checks look at the pods themselves, so that a broken upgrade fails at once and says
// why: the pod, the container, the reason, the exit code, the last log lines, the probe.

// podFailure is a pod that will not become healthy by waiting.
type podFailure struct {
	Pod, Container string
	Reason         string // CrashLoopBackOff, ImagePullBackOff, ErrImagePull, InvalidImageName
	Detail         string // exit code, pull error, ...
	Logs           []string
}

func (f podFailure) Error() string {
	s := fmt.Sprintf("pod %s: container %s: %s: %s", f.Pod, f.Container, f.Reason, f.Detail)
	if len(f.Logs) > 0 {
		s += "; last log lines: " + strings.Join(f.Logs, " | ")
	}
	return s
}

// DefaultMaxRestarts is how many times a container may restart in CrashLoopBackOff before
// the upgrade test calls it broken.
const DefaultMaxRestarts = 2

// livePods lists the scenario's pods that are meant to run (not deleted, not finished),
// by name.
func (s *scenario) livePods(ctx context.Context) ([]corev1.Pod, error) {
	list, err := s.client.CoreV1().Pods(s.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	pods := slices.DeleteFunc(list.Items, func(p corev1.Pod) bool {
		return p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods, nil
}

// checkPods lists the scenario's pods and returns the first one that is broken beyond
// waiting, with the last lines of its container's log.
func (s *scenario) checkPods(ctx context.Context) *podFailure {
	pods, err := s.livePods(ctx)
	if err != nil {
		return nil // the kstatus watch reports an unreachable cluster
	}
	for i := range pods {
		p := &pods[i]
		statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
		for _, cs := range statuses {
			if f := s.containerFailure(p, cs); f != nil {
				if f.Reason == "CrashLoopBackOff" { // the others never started
					f.Logs = s.logTail(ctx, p.Name, cs.Name, true, 5)
				}
				return f
			}
		}
	}
	return nil
}

func (s *scenario) containerFailure(p *corev1.Pod, cs corev1.ContainerStatus) *podFailure {
	w := cs.State.Waiting
	if w == nil {
		return nil
	}
	switch w.Reason {
	case "CrashLoopBackOff":
		if int(cs.RestartCount) < s.opts.MaxRestarts {
			return nil
		}
		detail := fmt.Sprintf("restarted %d times", cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil {
			detail = fmt.Sprintf("exit code %d (%s), restarted %d times", t.ExitCode, t.Reason, cs.RestartCount)
		}
		return &podFailure{Pod: p.Name, Container: cs.Name, Reason: w.Reason, Detail: detail}
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
		return &podFailure{Pod: p.Name, Container: cs.Name, Reason: w.Reason,
			Detail: fmt.Sprintf("image %s cannot be pulled: %s", cs.Image, oneLine(w.Message))}
	}
	return nil
}

// logTail returns the last lines a container wrote; previous: of its last terminated run.
func (s *scenario) logTail(ctx context.Context, pod, container string, previous bool, lines int64) []string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	raw, err := s.client.CoreV1().Pods(s.namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container: container, TailLines: &lines, Previous: previous,
	}).DoRaw(ctx)
	if err != nil && previous {
		return s.logTail(ctx, pod, container, false, lines)
	}
	if err != nil {
		return []string{"(logs unavailable: " + firstLine(err.Error()) + ")"}
	}
	text := strings.TrimRight(string(raw), "\n")
	if strings.TrimSpace(text) == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// notReadyPods explains, for each running pod that is not Ready, which container waits and
// on what: its readiness probe and the kubelet's last word about it.
func (s *scenario) notReadyPods(ctx context.Context) []string {
	pods, err := s.livePods(ctx)
	if err != nil {
		return nil
	}
	probeEvents := s.lastProbeEvents(ctx)
	var out []string
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Ready {
				continue
			}
			msg := fmt.Sprintf("pod %s: container %s not ready (%s)", p.Name, cs.Name, containerState(cs.State))
			if probe := readinessProbe(&p, cs.Name); probe != nil {
				msg += ": readiness probe " + describeProbe(probe)
				if ev := probeEvents[p.Name]; ev != "" {
					msg += ": " + ev
				} else {
					msg += " has not passed"
				}
			}
			out = append(out, msg)
		}
	}
	slices.Sort(out)
	return out
}

// lastProbeEvents maps pod name → the newest "Unhealthy" event the kubelet gave it.
func (s *scenario) lastProbeEvents(ctx context.Context) map[string]string {
	evs, err := s.client.CoreV1().Events(s.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	newest := map[string]time.Time{}
	out := map[string]string{}
	for _, e := range evs.Items {
		if e.Reason != "Unhealthy" || e.InvolvedObject.Kind != "Pod" || !strings.HasPrefix(e.Message, "Readiness probe") {
			continue
		}
		when := e.LastTimestamp.Time
		if when.IsZero() {
			when = e.EventTime.Time
		}
		if when.Before(newest[e.InvolvedObject.Name]) {
			continue
		}
		newest[e.InvolvedObject.Name] = when
		out[e.InvolvedObject.Name] = oneLine(e.Message)
	}
	return out
}

func readinessProbe(p *corev1.Pod, container string) *corev1.Probe {
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			return c.ReadinessProbe
		}
	}
	return nil
}

// describeProbe says what a probe checks, e.g. "http-get :http/healthz".
func describeProbe(p *corev1.Probe) string {
	port := func(v intstr.IntOrString) string { return v.String() }
	switch h := p.ProbeHandler; {
	case h.HTTPGet != nil:
		scheme := strings.ToLower(string(cmp.Or(h.HTTPGet.Scheme, corev1.URISchemeHTTP)))
		return fmt.Sprintf("%s-get %s on port %s", scheme, cmp.Or(h.HTTPGet.Path, "/"), port(h.HTTPGet.Port))
	case h.TCPSocket != nil:
		return "tcp-socket on port " + port(h.TCPSocket.Port)
	case h.Exec != nil:
		return fmt.Sprintf("exec %q", strings.Join(h.Exec.Command, " "))
	case h.GRPC != nil:
		return fmt.Sprintf("grpc on port %d", h.GRPC.Port)
	}
	return "(no handler)"
}

// failedPods summarises pods whose containers exited non-zero — hook Jobs and `helm test`
// pods — with the exit code and log tail, for the error of the step that ran them.
func (s *scenario) failedPods(ctx context.Context) string {
	pods, err := s.client.CoreV1().Pods(s.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	var out []string
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			t := cs.State.Terminated
			if t == nil || t.ExitCode == 0 {
				continue
			}
			msg := fmt.Sprintf("pod %s: container %s exited with code %d (%s)", p.Name, cs.Name, t.ExitCode, t.Reason)
			if logs := s.logTail(ctx, p.Name, cs.Name, false, 5); len(logs) > 0 {
				msg += "; last log lines: " + strings.Join(logs, " | ")
			}
			out = append(out, msg)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}
