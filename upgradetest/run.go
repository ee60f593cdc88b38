package upgradetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/progress"
)

// Breaking says what to do with an upgrade that crosses a major version.
type Breaking string

const (
	BreakingTest Breaking = "test" // run it and report it as a major upgrade (default)
	BreakingWarn Breaking = "warn" // run it; if it fails, warn instead of failing
	BreakingFail Breaking = "fail" // run it, then fail: major upgrades need a decision
)

// ParseBreaking checks a --breaking value.
func ParseBreaking(s string) (Breaking, error) {
	switch b := Breaking(s); b {
	case BreakingTest, BreakingWarn, BreakingFail:
		return b, nil
	case "":
		return BreakingTest, nil
	}
	return "", errdef.Usage(fmt.Errorf("--breaking %q: use test, warn or fail", s))
}

// Options configure Run, grouped by concern.
type Options struct {
	// What is tested: the new chart, and where its released versions come from.
	Chart    *chart.Chart // the package under test
	From     string       // --from spec (see ResolveFrom); "" means "stable"
	FromFile string       // a from-version package (.tgz or chart dir); overrides From and Catalog
	Catalog  Catalog      // released versions; nil needs FromFile
	// Fleet lists the versions the fleet runs, for From "fleet" (FromFleet):
	// each becomes a from-version, its scenarios labelled with its clusters.
	Fleet FleetSource

	// CRDs are files, directories or URLs of CustomResourceDefinitions the
	// chart's objects need but don't ship (App CRs of a bundle, Cluster API
	// kinds of a cluster app), installed before the from-version. Objects of
	// those kinds are "not reconciled here": no controller runs for them.
	CRDs []string

	unreconciled  map[schema.GroupKind]bool
	fleetClusters map[string][]string // from-version → clusters (From "fleet")
	fleetUntested []string

	// How: values files, hook, checks.
	Values        []string  // values files, one scenario each; none: the chart's ci/*-values.yaml, else its defaults
	Set           SetValues // helm's --set, --set-string, --set-file over every scenario's values
	Hook          string    // shell command run before the upgrade
	RollbackCheck bool      // roll back to the from-version after the upgrade and check health
	SkipTests     bool      // don't run `helm test`
	Breaking      Breaking  // major upgrades: test (default), warn or fail

	// Limits.
	Parallel    int           // scenarios at once (default 1)
	Timeout     time.Duration // bounds each wait for health, hooks and tests (default 5m)
	MaxRestarts int           // a container restarting this often in CrashLoopBackOff fails the step at once (default DefaultMaxRestarts)
	Shard       Shard         // run only this share of the scenarios (CircleCI parallelism); zero: all

	Logger   *slog.Logger
	Progress progress.Func // told each scenario's steps as they start and how it ended (a live view); nil: nobody
}

// ErrFailed is matched (errors.Is) by the error Run returns when a scenario failed; it is
// also an errdef.ErrCheck.
var ErrFailed = errors.New("upgrade test failed")

// Run tests the upgrade of every released from-version to opts.Chart in cluster c, one
// scenario per values file × from-version, and returns the report. The error is nil when
// everything passed; a failed scenario gives an error matching ErrFailed (and
// errdef.ErrCheck) together with the full report; bad options give errdef.ErrUsage; an
// unreachable catalog or cluster errdef.ErrExternal.
func Run(ctx context.Context, c *Cluster, opts Options) (*Report, error) {
	start := time.Now()
	log := logging.OrDiscard(opts.Logger)
	if opts.Chart == nil || opts.Chart.Metadata == nil {
		return nil, errdef.Usage(errors.New("no chart to test"))
	}
	if opts.Parallel < 1 {
		opts.Parallel = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.MaxRestarts <= 0 {
		opts.MaxRestarts = DefaultMaxRestarts
	}
	if opts.Breaking == "" {
		opts.Breaking = BreakingTest
	}
	to := opts.Chart
	rep := &Report{Chart: to.Metadata.Name, To: to.Metadata.Version, Cluster: c.Name}

	froms, err := resolveFromCharts(ctx, to, &opts, log)
	if err != nil {
		return nil, err
	}
	kv, err := c.KubernetesVersion()
	if err != nil {
		return nil, errdef.External(err)
	}
	rep.KubernetesVersion = kv
	if len(opts.CRDs) > 0 {
		crds, err := readCRDs(ctx, opts.CRDs)
		if err != nil {
			return nil, err
		}
		if opts.unreconciled, err = installCRDs(ctx, c, crds, opts.Timeout); err != nil {
			return nil, err
		}
		log.Info("installed CRDs", "count", len(crds))
	}
	valueSets, err := scenarioValues(to, opts.Values)
	if err != nil {
		return nil, err
	}
	rep.FirstRelease = len(froms) == 0
	for _, f := range froms {
		rep.From = append(rep.From, f.Metadata.Version)
	}
	switch cat, ok := opts.Catalog.(fmt.Stringer); {
	case opts.FromFile != "":
		rep.FromSource = "file " + opts.FromFile
	case ok:
		rep.FromSource = cat.String()
	}
	log.Info("upgrade test", "chart", rep.Chart, "to", rep.To, "from", rep.From, "fromSource", rep.FromSource, "kubernetes", kv, "scenarios", len(valueSets)*max(1, len(froms)))

	if _, err := opts.Set.apply(nil); err != nil { // bad input fails before anything is installed
		return nil, err
	}
	var scenarios []*scenario
	for _, vs := range valueSets {
		if vs.values, err = opts.Set.apply(vs.values); err != nil {
			return nil, err
		}
		if len(froms) == 0 {
			scenarios = append(scenarios, &scenario{name: vs.name, valuesName: vs.file, toValues: vs.values,
				to: to, opts: &opts, cluster: c, log: log})
		}
		for _, f := range froms {
			fromVals, err := fromValues(f, vs)
			if err != nil {
				return nil, err
			}
			if vs.inFile != "" { // the from-version's own values file: set over it too
				if fromVals, err = opts.Set.apply(fromVals); err != nil {
					return nil, err
				}
			}
			scenarios = append(scenarios, &scenario{name: vs.name, valuesName: vs.file, toValues: vs.values,
				fromValues: fromVals, from: f, to: to, opts: &opts, cluster: c, log: log})
		}
	}

	if client, err := kubernetes.NewForConfig(c.RESTConfig()); err == nil {
		rep.Swept = sweepExpired(ctx, client, time.Now(), log)
	}
	scenarios = shardScenarios(scenarios, opts.Shard, rep, log)
	rep.Scenarios = make([]ScenarioResult, len(scenarios))
	for _, s := range scenarios {
		s.progressStep("waiting")
	}
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i, s := range scenarios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rep.Scenarios[i] = s.run(ctx)
		}()
	}
	wg.Wait()
	rep.Seconds = time.Since(start).Seconds()
	rep.Passed = true
	var failed []string
	if opts.fleetClusters != nil || opts.fleetUntested != nil {
		rep.proveFleet(opts.fleetClusters, opts.fleetUntested)
	}
	for _, s := range rep.Scenarios {
		if !s.Passed {
			rep.Passed = false
			msg := s.ID()
			if st := s.FailedStep(); st != nil {
				msg += ": " + st.Name + ": " + firstLine(st.Error)
			} else if s.Note != "" {
				msg += ": " + s.Note
			}
			failed = append(failed, msg)
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if !rep.Passed {
		return rep, errdef.Check(fmt.Errorf("%w: %d of %d scenarios failed: %s", ErrFailed, len(failed), len(rep.Scenarios), strings.Join(failed, "; ")))
	}
	return rep, nil
}

// resolveFromCharts loads the from-version charts: --from-file, or the catalog's versions
// picked by --from. None (and no error): the first release.
func resolveFromCharts(ctx context.Context, to *chart.Chart, opts *Options, log *slog.Logger) ([]*chart.Chart, error) {
	if opts.FromFile != "" {
		c, err := loader.Load(opts.FromFile)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("--from-file %s: %w; pass a chart package (.tgz) or chart directory", opts.FromFile, err))
		}
		if c.Metadata.Name != to.Metadata.Name {
			return nil, errdef.Usage(fmt.Errorf("--from-file %s is chart %q, not %q", opts.FromFile, c.Metadata.Name, to.Metadata.Name))
		}
		return []*chart.Chart{c}, nil
	}
	if opts.Catalog == nil {
		return nil, errdef.Usage(errors.New("no from-version: pass --from-catalog (where released versions live) or --from-file"))
	}
	name := to.Metadata.Name
	released, err := opts.Catalog.Versions(ctx, name)
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		if errdef.Kind(err) == nil {
			err = errdef.External(err)
		}
		return nil, fmt.Errorf("listing released versions of %s: %w", name, err)
	}
	var versions []string
	if strings.TrimSpace(opts.From) == FromFleet {
		if versions, opts.fleetClusters, opts.fleetUntested, err = fleetFrom(ctx, opts, name, to.Metadata.Version, released); err != nil {
			return nil, err
		}
	} else if versions, err = ResolveFrom(opts.From, to.Metadata.Version, released); err != nil {
		return nil, errdef.Usage(err)
	}
	if len(versions) == 0 {
		log.Info("no released version below the version under test: first release, install test only", "chart", name, "to", to.Metadata.Version)
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "chartship-from-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out []*chart.Chart
	for _, v := range versions {
		p, err := opts.Catalog.Fetch(ctx, name, v, dir)
		if err != nil {
			if errdef.Kind(err) == nil {
				err = errdef.External(err)
			}
			return nil, fmt.Errorf("fetching %s %s from the catalog: %w", name, v, err)
		}
		c, err := loader.Load(p)
		if err != nil {
			return nil, errdef.External(fmt.Errorf("loading %s %s fetched from the catalog: %w", name, v, err))
		}
		out = append(out, c)
	}
	return out, nil
}

type valueSet struct {
	name   string // "default"
	file   string // "ci/default-values.yaml" (in the chart) or a path given with --values
	values map[string]any
	inFile string // name inside the chart (for the from-chart's own copy), "" for --values
}

// scenarioValues: --values files, else the chart's ci/*-values.yaml, else its defaults.
func scenarioValues(to *chart.Chart, files []string) ([]valueSet, error) {
	var out []valueSet
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("--values: %w", err))
		}
		v, err := readValues(data, f)
		if err != nil {
			return nil, errdef.Usage(err)
		}
		out = append(out, valueSet{name: valuesName(path.Base(f)), file: f, values: v})
	}
	if len(out) > 0 {
		return out, nil
	}
	for _, f := range to.Files {
		if path.Dir(f.Name) != "ci" || !strings.HasSuffix(f.Name, "-values.yaml") {
			continue
		}
		v, err := readValues(f.Data, f.Name)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("chart %s: %w", to.Metadata.Name, err))
		}
		out = append(out, valueSet{name: valuesName(path.Base(f.Name)), file: f.Name, values: v, inFile: f.Name})
	}
	slices.SortFunc(out, func(a, b valueSet) int { return strings.Compare(a.file, b.file) })
	if len(out) == 0 {
		out = append(out, valueSet{name: "defaults"})
	}
	return out, nil
}

// fromValues: the from-chart's own copy of a ci values file when it has one (the file may
// have changed with the chart), else the same values.
func fromValues(from *chart.Chart, vs valueSet) (map[string]any, error) {
	if vs.inFile == "" {
		return vs.values, nil
	}
	for _, f := range from.Files {
		if f.Name == vs.inFile {
			v, err := readValues(f.Data, from.Metadata.Name+"-"+from.Metadata.Version+"/"+f.Name)
			if err != nil {
				return nil, errdef.External(err)
			}
			return v, nil
		}
	}
	return vs.values, nil
}

func valuesName(base string) string {
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	return strings.TrimSuffix(base, "-values")
}
