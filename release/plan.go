package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/upgradetest"
)

// Routing is where a release goes, decided from .chartship.yaml and --to. It is
// the one place the rule lives (publish, release, the demo and the tests all
// ask it):
//
//   - publish targets: every --to when given, whatever the version; otherwise
//     the configuration's release catalogs for a release — a stable version or
//     a release candidate X.Y.Z-rc.N (chart.ChannelOf) — and its test catalogs
//     for a dev build;
//   - the upgrade test's from-versions: FromCatalog when given, else the first
//     release catalog of the configuration, else the first --to (none: a first
//     release, install test only);
//   - the versions bump policies choose from: the first OCI registry among the
//     release targets (the registry Flux watches), else only the new version;
//   - a dev build is never bumped; a release candidate is, and moves only the
//     references whose policy admits pre-releases.
type Routing struct {
	Config      *catalog.Config // nil: no .chartship.yaml
	To          []string        // --to: names from Config or catalog references
	FromCatalog string          // --from-catalog: a name or a reference
}

func (r Routing) config() *catalog.Config {
	if r.Config == nil {
		return &catalog.Config{}
	}
	return r.Config
}

// Targets names the catalogs a version goes to (dev: a dev build, see
// chart.IsDevBuild): empty when the configuration names none of its kind (the
// caller decides whether that is an error).
func (r Routing) Targets(dev bool) ([]catalog.NamedCatalog, error) {
	cfg := r.config()
	if len(r.To) == 0 {
		return cfg.Select(dev), nil
	}
	out := make([]catalog.NamedCatalog, 0, len(r.To))
	for _, to := range r.To {
		n, err := cfg.Resolve(to)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// From names the catalog released versions are read from; ok is false when
// there is none (a first release).
func (r Routing) From() (n catalog.NamedCatalog, ok bool, err error) {
	ref := r.FromCatalog
	if ref == "" {
		switch rel := r.config().Select(false); {
		case len(rel) > 0:
			ref = rel[0].Name
		case len(r.To) > 0:
			ref = r.To[0]
		default:
			return catalog.NamedCatalog{}, false, nil
		}
	}
	n, err = r.config().Resolve(ref)
	return n, err == nil, err
}

// Target is one catalog of a plan, by kind.
type Target struct {
	Name    string          `json:"name,omitempty"` // from .chartship.yaml
	Ref     string          `json:"ref"`            // for people: no credentials
	Kind    catalog.Kind    `json:"kind"`
	Test    bool            `json:"test,omitempty"` // a test catalog (dev builds)
	Catalog catalog.Catalog `json:"-"`
}

func openTarget(n catalog.NamedCatalog, opts catalog.Options) (Target, error) {
	kind, err := catalog.KindOf(n.Ref())
	if err != nil {
		return Target{}, err
	}
	c, err := n.Open(opts)
	if err != nil {
		return Target{}, err
	}
	return Target{Name: n.Name, Ref: c.String(), Kind: kind, Test: n.Test, Catalog: c}, nil
}

// OpenTargets opens the catalogs Routing names for a version (dev: a dev
// build). Opening connects to nothing.
func OpenTargets(r Routing, dev bool, opts catalog.Options) ([]Target, error) {
	names, err := r.Targets(dev)
	if err != nil {
		return nil, err
	}
	out := make([]Target, 0, len(names))
	for _, n := range names {
		t, err := openTarget(n, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// StagePlan says whether a stage will run, and why not.
type StagePlan struct {
	Stage Stage  `json:"stage"`
	Run   bool   `json:"run"`
	Why   string `json:"why,omitempty"` // why it is skipped
}

// TestPlan is the upgrade test a release will run.
type TestPlan struct {
	From     string  `json:"from"`               // --from spec ("stable")
	FromFile string  `json:"fromFile,omitempty"` // a from-version package instead of a catalog
	Catalog  *Target `json:"catalog,omitempty"`  // where released versions come from; nil: first release
}

// BumpPlan is the bump a release will make.
type BumpPlan struct {
	Repos  []string `json:"repos"`
	Policy string   `json:"policy"`
	PushTo string   `json:"pushTo,omitempty"`
	PR     bool     `json:"pullRequest,omitempty"`
	Branch string   `json:"branch,omitempty"`
	// Versions is the catalog whose versions policies choose from; nil: only
	// the new version.
	Versions *Target `json:"versions,omitempty"`
}

// Plan is a release computed before anything runs: the version, the stages,
// the catalogs by kind, where from-versions come from and what is bumped.
// NewPlan builds it (reading, never writing), Text and JSON print it
// (`chartship release --dry-run`), Execute runs it.
type Plan struct {
	Dir         string              `json:"dir"` // the chart directory
	Chart       string              `json:"chart"`
	Version     string              `json:"version"`
	VersionFrom chart.VersionSource `json:"versionFrom"`
	Prerelease  bool                `json:"prerelease"`
	Channel     chart.Channel       `json:"channel,omitempty"` // stable, rc or dev (routing follows it)
	// NoBuild says why nothing runs: a commit on a nobuild/… branch (exit 0).
	NoBuild     string      `json:"noBuild,omitempty"`
	Stages      []StagePlan `json:"stages"`
	Publish     []Target    `json:"publish"`
	UpgradeTest *TestPlan   `json:"upgradeTest,omitempty"`
	Bump        *BumpPlan   `json:"bump,omitempty"`

	opts Options
}

// SetCluster gives the upgrade test its cluster, once the plan is settled
// (starting a cluster is not for a dry run).
func (p *Plan) SetCluster(c *upgradetest.Cluster) {
	if p.opts.Test != nil {
		t := *p.opts.Test
		t.Cluster = c
		p.opts.Test = &t
	}
}

// Runs reports whether the plan runs stage s.
func (p *Plan) Runs(s Stage) bool {
	for _, sp := range p.Stages {
		if sp.Stage == s {
			return sp.Run
		}
	}
	return false
}

// NewPlan decides what a release of the chart in dir (or the single chart
// under dir/helm/) will do. It reads the chart, git and the configuration and
// opens the catalogs (which connects to nothing); it writes nothing, and with
// DryRun it doesn't even deepen a shallow clone to find tags.
func NewPlan(ctx context.Context, dir string, opts Options) (*Plan, error) {
	chartDir, err := chart.FindChartDir(dir)
	if err != nil {
		return nil, err
	}
	md, err := chartutil.LoadChartfile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s: %w", filepath.Join(chartDir, "Chart.yaml"), err))
	}
	vopts := opts.Package.Version
	if opts.DryRun {
		vopts.NoFetch = true
	}
	v, err := chart.ResolveVersion(ctx, chartDir, vopts)
	if errors.Is(err, chart.ErrNoBuild) {
		p := &Plan{Dir: chartDir, Chart: md.Name, VersionFrom: v.Source, Channel: chart.ChannelDev, NoBuild: err.Error(), opts: opts}
		for _, s := range allStages {
			p.Stages = append(p.Stages, StagePlan{Stage: s, Why: "branch " + v.Branch + " builds nothing"})
		}
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	p := &Plan{Dir: chartDir, Chart: md.Name, Version: v.Version, VersionFrom: v.Source, Prerelease: chart.IsPrerelease(v.Version), Channel: chart.ChannelOf(v.Version), opts: opts}
	dev := p.Channel == chart.ChannelDev
	stage := func(s Stage, why string) { p.Stages = append(p.Stages, StagePlan{Stage: s, Run: why == "", Why: why}) }
	stage(StagePackage, "")

	if len(opts.Routing.To) == 0 && len(opts.Routing.config().Catalogs) == 0 {
		return nil, errdef.Usage(fmt.Errorf("nowhere to publish: give --to oci://… or git+https://…, or name catalogs in %s", catalog.ConfigFile))
	}
	if p.Publish, err = OpenTargets(opts.Routing, dev, opts.Catalogs); err != nil {
		return nil, err
	}

	if opts.Test == nil {
		stage(StageUpgradeTest, "--skip-upgrade-test")
	} else {
		tp := &TestPlan{From: opts.Test.Upgrade.From, FromFile: opts.Test.Upgrade.FromFile}
		if tp.From == "" {
			tp.From = "stable"
		}
		if tp.FromFile == "" && opts.Test.Upgrade.Catalog == nil {
			n, ok, err := opts.Routing.From()
			if err != nil {
				return nil, err
			}
			if ok {
				t, err := openTarget(n, opts.Catalogs)
				if err != nil {
					return nil, err
				}
				tp.Catalog = &t
			}
		}
		p.UpgradeTest = tp
		stage(StageUpgradeTest, "")
	}

	kind := "release"
	if dev {
		kind = "test"
	}
	if len(p.Publish) == 0 {
		stage(StagePublish, fmt.Sprintf("%s names no %s catalogs", catalog.ConfigFile, kind))
		stage(StageBump, "nothing is published")
		return p, nil
	}
	stage(StagePublish, "")

	switch b := opts.Bump; {
	case b == nil || len(b.Repos) == 0:
		stage(StageBump, "no --bump-repo")
	case dev:
		stage(StageBump, "a dev build is never bumped")
	default:
		if err := b.Apply.Validate(); err != nil {
			return nil, err
		}
		bp := &BumpPlan{Repos: b.Repos, Policy: b.Request.Policy, PushTo: b.Apply.PushTo, PR: b.Apply.PR, Branch: b.Apply.Branch}
		for i := range p.Publish {
			if t := p.Publish[i]; t.Kind == catalog.KindOCI && !t.Test {
				bp.Versions = &t
				break
			}
		}
		p.Bump = bp
		stage(StageBump, "")
	}
	return p, nil
}

// Text prints the plan for people.
func (p *Plan) Text(w io.Writer) {
	if p.NoBuild != "" {
		fmt.Fprintf(w, "Plan: %s: nothing to do (%s)\n", p.Chart, p.NoBuild)
		return
	}
	kind := "release"
	switch p.Channel {
	case chart.ChannelDev:
		kind = "dev build"
	case chart.ChannelRC:
		kind = "release candidate"
	}
	fmt.Fprintf(w, "Plan: release %s %s (%s, version from %s)\n", p.Chart, p.Version, kind, p.VersionFrom)
	fmt.Fprintf(w, "  %-12s %s\n", "chart", p.Dir)
	for _, s := range p.Stages {
		if !s.Run {
			fmt.Fprintf(w, "  %-12s skipped: %s\n", s.Stage, s.Why)
			continue
		}
		switch s.Stage {
		case StagePackage:
			fmt.Fprintf(w, "  %-12s into %s\n", s.Stage, p.destination())
		case StageUpgradeTest:
			from := "first release: install test only"
			switch t := p.UpgradeTest; {
			case t.FromFile != "":
				from = "from " + t.FromFile
			case t.Catalog != nil:
				from = fmt.Sprintf("from %s in %s", t.From, t.Catalog.label())
			case p.opts.Test != nil && p.opts.Test.Upgrade.Catalog != nil:
				from = "from " + t.From
			}
			fmt.Fprintf(w, "  %-12s %s\n", s.Stage, from)
		case StagePublish:
			for i, t := range p.Publish {
				label := ""
				if i == 0 {
					label = string(s.Stage)
				}
				fmt.Fprintf(w, "  %-12s %s\n", label, t.label())
			}
			if sg := p.opts.Sign; sg.Enabled() {
				how := "cosign key " + sg.Key
				if sg.Keyless != nil {
					how = "cosign keyless (Fulcio " + sg.Keyless.FulcioURL + ", Rekor " + sg.Keyless.RekorURL + ")"
				}
				if p.Runs(StageUpgradeTest) {
					how += ", with the signed upgrade-test attestation"
				}
				fmt.Fprintf(w, "  %-12s OCI pushes: %s\n", "sign", how)
			}
		case StageBump:
			b := p.Bump
			how := "bump branch, no pull request"
			switch {
			case b.PushTo != "":
				how = "push to " + b.PushTo
			case b.PR:
				how = "pull request"
			}
			versions := "only " + p.Version
			if b.Versions != nil {
				versions = "versions from " + b.Versions.label()
			}
			if p.Channel == chart.ChannelRC {
				versions += "; a release candidate moves only references whose policy admits pre-releases"
			}
			fmt.Fprintf(w, "  %-12s %s (policy %s, %s; %s)\n", s.Stage, strings.Join(b.Repos, ", "), b.Policy, how, versions)
		}
	}
}

func (p *Plan) destination() string {
	if d := p.opts.Package.Destination; d != "" {
		return d
	}
	return chart.DefaultDestination
}

func (t Target) label() string {
	s := fmt.Sprintf("%-4s %s", t.Kind, t.Ref)
	if t.Name != "" {
		s += " (" + t.Name + ")"
	}
	return s
}
