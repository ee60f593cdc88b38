package upgradetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// scenario is one values file upgraded from one version, in its own namespace.
type scenario struct {
	name       string // values file name without -values.yaml, e.g. "default"
	valuesName string // e.g. "ci/default-values.yaml", or "" for the chart's defaults
	fromValues map[string]any
	toValues   map[string]any
	from, to   *chart.Chart // from is nil for an install-only (first release) scenario
	opts       *Options
	cluster    *Cluster
	log        *slog.Logger

	namespace string
	release   string
	getter    *getter
	cfg       *action.Configuration
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	result    ScenarioResult
}

func (s *scenario) run(ctx context.Context) ScenarioResult {
	start := time.Now()
	r := &s.result
	r.Name, r.Values, r.To = s.name, s.valuesName, s.to.Metadata.Version
	r.Kind = KindUpgrade
	if s.from == nil {
		r.Kind = KindInstall
	} else {
		r.From = s.from.Metadata.Version
		r.Major = IsMajorUpgrade(r.From, r.To)
	}
	s.release = releaseName(s.to.Metadata.Name)
	s.namespace = namespaceName(s.to.Metadata.Name, s.name)
	r.Namespace, r.Release = s.namespace, s.release
	s.log = s.log.With("scenario", r.ID())

	steps := s.plan()
	s.progressStep("create namespace")
	failed := false
	if err := s.setup(ctx); err != nil {
		r.Steps = append(r.Steps, Step{Name: "create namespace " + s.namespace, Error: err.Error()})
		failed = true
	}
	for _, st := range steps {
		if failed && !st.always {
			r.Steps = append(r.Steps, Step{Name: st.name, Skipped: true})
			continue
		}
		s.log.Info("step", "step", st.name)
		s.progressStep(st.name)
		if s.client != nil {
			renewLease(ctx, s.client, s.namespace, time.Now(), s.opts.Timeout, s.log)
		}
		t0 := time.Now()
		details, err := st.run(ctx)
		step := Step{Name: st.name, Seconds: time.Since(t0).Seconds(), Passed: err == nil, Details: details}
		if err != nil {
			step.Error = oneLine(err.Error())
			if !st.always {
				step.Details = joinNonEmpty(details, s.diagnose(ctx))
			}
			failed = true
			s.log.Warn("step failed", "step", st.name, "error", err)
		}
		r.Steps = append(r.Steps, step)
	}
	r.Passed = !failed
	if r.Major && s.opts.Breaking == BreakingFail {
		r.Passed = false
		r.Note = fmt.Sprintf("major upgrade %s → %s refused by --breaking=fail", r.From, r.To)
	} else if r.Major && s.opts.Breaking == BreakingWarn && !r.Passed {
		r.Passed = true
		r.Note = fmt.Sprintf("warning: the major upgrade %s → %s breaks existing installations (allowed by --breaking=warn)", r.From, r.To)
	} else if r.Major {
		r.Note = fmt.Sprintf("major upgrade %s → %s", r.From, r.To)
	}
	if r.Kind == KindInstall {
		r.Note = joinNonEmpty(r.Note, "first release, install test only")
	}
	r.Seconds = time.Since(start).Seconds()
	s.progressDone(r)
	return *r
}

type plannedStep struct {
	name   string
	always bool // runs even after a failure (clean-up)
	run    func(ctx context.Context) (details string, err error)
}

func (s *scenario) plan() []plannedStep {
	o := s.opts
	first := s.to
	if s.from != nil {
		first = s.from
	}
	var steps []plannedStep
	add := func(name string, fn func(ctx context.Context) (string, error)) {
		steps = append(steps, plannedStep{name: name, run: fn})
	}
	add("install "+first.Metadata.Version, func(ctx context.Context) (string, error) {
		return "", s.install(ctx, first, s.valuesFor(first))
	})
	add("healthy after install", s.healthy)
	if !o.SkipTests {
		add("helm test after install", s.helmTest)
	}
	if s.from != nil {
		if o.Hook != "" {
			add("hook pre-upgrade", func(ctx context.Context) (string, error) { return s.hook(ctx, "pre-upgrade") })
		}
		add("upgrade to "+s.to.Metadata.Version, func(ctx context.Context) (string, error) {
			return "", s.upgrade(ctx)
		})
		add("healthy after upgrade", s.healthy)
		if !o.SkipTests {
			add("helm test after upgrade", s.helmTest)
		}
		if o.RollbackCheck {
			add("rollback to "+s.from.Metadata.Version, func(ctx context.Context) (string, error) {
				return "", s.rollback(ctx)
			})
			add("healthy after rollback", s.healthy)
		}
	}
	steps = append(steps, plannedStep{name: "uninstall", always: true, run: func(ctx context.Context) (string, error) {
		return "", s.teardown(ctx)
	}})
	return steps
}

func (s *scenario) valuesFor(c *chart.Chart) map[string]any {
	if c == s.from && s.fromValues != nil {
		return s.fromValues
	}
	return s.toValues
}

func (s *scenario) setup(ctx context.Context) error {
	g, err := newGetter(s.cluster, s.namespace)
	if err != nil {
		return err
	}
	s.getter = g
	rc := s.cluster.RESTConfig()
	if s.client, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	if s.dynamic, err = dynamic.NewForConfig(rc); err != nil {
		return err
	}
	s.cfg = new(action.Configuration)
	debug := func(format string, v ...any) { s.log.Debug(fmt.Sprintf(format, v...)) }
	if err := s.cfg.Init(g, s.namespace, "secret", debug); err != nil {
		return fmt.Errorf("setting up helm for namespace %s: %w", s.namespace, err)
	}
	_, err = s.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: namespaceMeta(s.namespace, time.Now(), s.opts.Timeout)}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating namespace %s in %s: %w", s.namespace, s.cluster.Name, err)
	}
	return nil
}

func (s *scenario) install(ctx context.Context, c *chart.Chart, vals map[string]any) error {
	in := action.NewInstall(s.cfg)
	in.ReleaseName, in.Namespace = s.release, s.namespace
	in.Timeout = s.opts.Timeout // bounds hooks; the objects are followed by waitHealthy
	_, err := in.RunWithContext(ctx, c, vals)
	return s.withFailedPods(ctx, err)
}

// withFailedPods adds, to a failed helm action, which of its pods (hook Jobs, tests) exited
// non-zero, with the exit code and the last log lines.
func (s *scenario) withFailedPods(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if pods := s.failedPods(dctx); pods != "" {
		return fmt.Errorf("%w; %s", err, pods)
	}
	return err
}

func (s *scenario) upgrade(ctx context.Context) error {
	up := action.NewUpgrade(s.cfg)
	up.Namespace = s.namespace
	up.Timeout = s.opts.Timeout
	_, err := up.RunWithContext(ctx, s.release, s.to, s.toValues)
	return s.withFailedPods(ctx, err)
}

func (s *scenario) rollback(context.Context) error {
	rb := action.NewRollback(s.cfg)
	rb.Timeout = s.opts.Timeout
	return rb.Run(s.release)
}

// healthy waits until every object of the release's current revision is Current.
func (s *scenario) healthy(ctx context.Context) (string, error) {
	rel, err := action.NewGet(s.cfg).Run(s.release)
	if err != nil {
		return "", fmt.Errorf("reading release %s: %w", s.release, err)
	}
	ids, err := s.manifestObjects(rel.Manifest)
	if err != nil {
		return "", err
	}
	ids, left := splitUnreconciled(ids, s.opts.unreconciled)
	details := ""
	if len(left) > 0 {
		details = "not reconciled here (no controller for their kinds in this cluster; created and accepted by the API server): " + strings.Join(left, ", ")
	}
	return details, s.waitHealthy(ctx, ids, s.opts.Timeout)
}

func (s *scenario) helmTest(ctx context.Context) (string, error) {
	t := action.NewReleaseTesting(s.cfg)
	t.Namespace = s.namespace
	t.Timeout = s.opts.Timeout
	rel, err := t.Run(s.release)
	if err != nil {
		return "", s.withFailedPods(ctx, fmt.Errorf("helm test: %w", err))
	}
	var passed []string
	for _, h := range rel.Hooks {
		for _, e := range h.Events {
			if e == "test" {
				passed = append(passed, fmt.Sprintf("%s/%s: %s", h.Kind, h.Name, h.LastRun.Phase))
			}
		}
	}
	if len(passed) == 0 {
		return "no test hooks in the chart", nil
	}
	return strings.Join(passed, "\n"), nil
}

// hook runs the user's --hook command with the stage and the scenario in its environment
// and KUBECONFIG pointing at a private copy of the cluster's kubeconfig.
func (s *scenario) hook(ctx context.Context, stage string) (string, error) {
	kc, err := s.cluster.Kubeconfig()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "chartship-hook-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kcPath, kc, 0o600); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", s.opts.Hook)
	cmd.Env = append(os.Environ(),
		"CHARTSHIP_STAGE="+stage,
		"CHARTSHIP_FROM_VERSION="+s.result.From,
		"CHARTSHIP_TO_VERSION="+s.result.To,
		"CHARTSHIP_RELEASE="+s.release,
		"CHARTSHIP_NAMESPACE="+s.namespace,
		"KUBECONFIG="+kcPath,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Interrupted or timed out: sh is killed; a child still holding the output
	// open (sleep, kubectl wait) must not keep the run from cleaning up.
	cmd.WaitDelay = 3 * time.Second
	err = cmd.Run()
	details := tail(out.String(), 40)
	if err != nil {
		return details, fmt.Errorf("--hook %q at stage %s: %w", s.opts.Hook, stage, err)
	}
	return details, nil
}

// teardown uninstalls the release (if installed) and deletes the namespace.
func (s *scenario) teardown(ctx context.Context) error {
	if s.cfg == nil || s.client == nil {
		return nil
	}
	// Clean up also after an interrupt (Ctrl-C cancels ctx): nothing is left in the cluster.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var errs []string
	if _, err := action.NewHistory(s.cfg).Run(s.release); err == nil {
		un := action.NewUninstall(s.cfg)
		un.Timeout = s.opts.Timeout
		if _, err := un.Run(s.release); err != nil {
			errs = append(errs, fmt.Sprintf("helm uninstall %s: %v", s.release, err))
		}
	}
	bg := metav1.DeletePropagationBackground
	if err := s.client.CoreV1().Namespaces().Delete(ctx, s.namespace, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		errs = append(errs, fmt.Sprintf("deleting namespace %s: %v; delete it by hand", s.namespace, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

func dnsLabel(s string, max int) string {
	s = strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	return s
}

func releaseName(chartName string) string { return dnsLabel(chartName, 40) }

func namespaceName(chartName, scenario string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return dnsLabel("ut-"+dnsLabel(chartName, 24)+"-"+dnsLabel(scenario, 24), 55) + "-" + hex.EncodeToString(b[:])
}

func readValues(data []byte, name string) (map[string]any, error) {
	v, err := chartutil.ReadValues(data)
	if err != nil {
		return nil, fmt.Errorf("values file %s: %w", name, err)
	}
	return v.AsMap(), nil
}

func tail(s string, lines int) string {
	s = strings.TrimRight(s, "\n")
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// oneLine flattens helm's multi-line errors ("1 error occurred:\n\t* job … failed") so a
// step's error reads as one line in every report.
func oneLine(s string) string {
	s = multiErrorHeader.ReplaceAllString(s, "")
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimPrefix(strings.TrimSpace(l), "* "); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

var multiErrorHeader = regexp.MustCompile(`\d+ errors? occurred:\s*`)

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n")
}
