// Package release runs a whole release of one chart as one plan: package it,
// prove the upgrade from the newest released version in a real cluster, publish
// it to every catalog, and bump the GitOps repositories that run it. Each stage
// runs only when the one before it succeeded, so a chart that fails its upgrade
// test is never published, and nothing is bumped to a version a catalog lacks.
package release

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/progress"
	"github.com/chartship/chartship/publish"
	"github.com/chartship/chartship/sign"
	"github.com/chartship/chartship/upgradetest"
)

// The upgrade test's result document (upgradetest.Result as JSON) is handed to
// every catalog with the package, as an attachment under this name and media
// type: a file in the git catalog's <chart>-<version>.tgz-meta/, a referrer of
// the chart's manifest in an OCI registry (see catalog.Attachment).
const (
	UpgradeTestAttachment = "upgrade-test.json"
	UpgradeTestMediaType  = "application/vnd.chartship.upgrade-test.v1+json"
)

// Stage names a step of a release.
type Stage string

// The stages of a release, in order.
const (
	StagePackage     Stage = "package"
	StageUpgradeTest Stage = "upgrade-test"
	StagePublish     Stage = "publish"
	StageBump        Stage = "bump"
)

// allStages are the stages in the order a release runs them.
var allStages = []Stage{StagePackage, StageUpgradeTest, StagePublish, StageBump}

// Options configure a release, one group per stage. A nil Test or Bump skips
// that stage; no publish targets for the version's kind skips publishing (and
// so bumping).
type Options struct {
	Package chart.BuildOptions
	// Routing decides the catalogs (see Routing); Catalogs says how to reach them.
	Routing  Routing
	Catalogs catalog.Options
	Test     *TestOptions
	Bump     *BumpOptions
	// Sign signs every OCI push with cosign (package sign) and, after an
	// upgrade test, attaches its signed attestation; the zero value signs
	// nothing. ChartshipVersion goes into the attestation.
	Sign             sign.Options
	ChartshipVersion string
	// DryRun makes NewPlan read nothing it would have to fetch; Run then stops
	// after the plan.
	DryRun bool
	Logger *slog.Logger
	// Progress is told when each stage starts and ends, and the upgrade test's scenarios
	// (a live view); nil: nobody.
	Progress progress.Func
}

// TestOptions configure the upgrade test stage.
type TestOptions struct {
	Cluster *upgradetest.Cluster
	// Upgrade configures the test; Chart is set by Run to the new package, and
	// Catalog, unless given (or FromFile), by the plan (see Routing).
	Upgrade upgradetest.Options
}

// BumpOptions configure the GitOps bump stage.
type BumpOptions struct {
	Repos []string
	// Parallel bounds the repositories bumped at once (0:
	// gitops.DefaultBumpParallel).
	Parallel int
	// Request carries the policy and filters; Chart and Version are set by Run,
	// and the versions policies choose from by the plan (see Routing).
	Request gitops.Request
	Apply   gitops.BumpOptions
}

// Result is what a release did, stage by stage. Stages that did not run are nil
// or empty; Failed names the stage that stopped the release.
type Result struct {
	Chart       string              `json:"chart"`
	Version     string              `json:"version"`
	AppVersion  string              `json:"appVersion"`
	Path        string              `json:"path"`
	Digest      string              `json:"digest"`
	Prerelease  bool                `json:"prerelease"`
	VersionFrom chart.VersionSource `json:"versionFrom"`
	UpgradeTest *upgradetest.Report `json:"upgradeTest,omitempty"`
	Published   []Published         `json:"published,omitempty"`
	Bumped      []*gitops.Result    `json:"bumped,omitempty"`
	Skipped     []Stage             `json:"skipped,omitempty"`
	NoBuild     string              `json:"noBuild,omitempty"` // why nothing ran (a nobuild/… branch)
	Failed      Stage               `json:"failed,omitempty"`
	Warnings    []string            `json:"warnings,omitempty"` // e.g. the release catalogs disagree on the newest release
	Seconds     float64             `json:"seconds"`
	Package     *chart.Package      `json:"-"`
	Test        *upgradetest.Result `json:"-"`
}

// Run plans the release of the chart in dir and executes the plan. The
// returned Result is never nil; the error names the stage that failed and keeps
// its classification (errdef).
func Run(ctx context.Context, dir string, opts Options) (*Result, error) {
	p, err := NewPlan(ctx, dir, opts)
	if err != nil {
		return &Result{Failed: StagePackage}, fmt.Errorf("release stopped at %s: %w", StagePackage, err)
	}
	return Execute(ctx, p)
}

// Execute runs a plan, stage by stage, each only when the one before
// succeeded.
func Execute(ctx context.Context, p *Plan) (*Result, error) {
	opts := p.opts
	start := time.Now()
	log := logging.OrDiscard(opts.Logger)
	res := &Result{}
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	track := &stages{send: opts.Progress}
	defer track.end(res)
	if p.NoBuild != "" {
		res.Chart, res.VersionFrom, res.NoBuild = p.Chart, p.VersionFrom, p.NoBuild
		res.Skipped = slices.Clone(allStages)
		log.Info("nothing to build", "chart", p.Chart, "why", p.NoBuild)
		return res, nil
	}

	// 1. Package.
	track.start(StagePackage, "building "+p.Chart+" "+p.Version)
	build := opts.Package
	if build.Logger == nil {
		build.Logger = log
	}
	built, err := chart.Build(ctx, p.Dir, build)
	if err != nil {
		res.Failed = StagePackage
		return res, fmt.Errorf("release stopped at %s: %w", StagePackage, err)
	}
	pkg := built.Package
	res.Package = pkg
	res.Chart, res.Version, res.AppVersion = pkg.Name(), pkg.Version(), pkg.Metadata.AppVersion
	res.Path, res.Digest = pkg.Path, pkg.Digest.String()
	res.Prerelease = chart.IsPrerelease(pkg.Version())
	res.VersionFrom = built.Version.Source
	log.Info("packaged", "chart", res.Chart, "version", res.Version, "path", res.Path)
	if pkg.Version() != p.Version {
		res.Failed = StagePackage
		return res, errdef.Usage(fmt.Errorf("release stopped at %s: the plan was for %s %s but the package is %s (did HEAD or its tags move?); run the release again", StagePackage, p.Chart, p.Version, pkg.Version()))
	}

	// 2. Upgrade test.
	if !res.Prerelease {
		if w := p.CheckNewest(ctx, log); w != "" {
			log.Warn(w)
			res.Warnings = append(res.Warnings, w)
		}
	}
	if !p.Runs(StageUpgradeTest) {
		res.Skipped = append(res.Skipped, StageUpgradeTest)
	} else {
		track.start(StageUpgradeTest, "")
		t := opts.Test.Upgrade
		if t.Logger == nil {
			t.Logger = log
		}
		if t.Progress == nil {
			t.Progress = nested(opts.Progress)
		}
		if t.Catalog == nil && p.UpgradeTest.Catalog != nil {
			t.Catalog = p.UpgradeTest.Catalog.Catalog
		}
		if t.Chart, err = pkg.Load(); err != nil {
			res.Failed = StageUpgradeTest
			return res, err
		}
		rep, err := upgradetest.Run(ctx, opts.Test.Cluster, t)
		res.UpgradeTest = rep
		if rep != nil {
			r := rep.Result()
			res.Test = &r
		}
		if err != nil {
			res.Failed = StageUpgradeTest
			return res, fmt.Errorf("release stopped at %s, nothing was published: %w", StageUpgradeTest, err)
		}
	}

	// 3. Publish.
	if !p.Runs(StagePublish) {
		res.Skipped = append(res.Skipped, StagePublish, StageBump)
		return res, nil
	}
	track.start(StagePublish, fmt.Sprintf("%d catalogs", len(p.Publish)))
	targets := make([]publish.Target, len(p.Publish))
	for i, t := range p.Publish {
		targets[i] = t.Catalog
	}
	popts := publish.Options{Logger: log, Sign: opts.Sign}
	if res.UpgradeTest != nil && opts.Sign.Enabled() {
		p, err := UpgradeTestPredicate(res.UpgradeTest, opts.ChartshipVersion).Predicate()
		if err != nil {
			res.Failed = StagePublish
			return res, fmt.Errorf("release stopped at %s: encoding the upgrade-test attestation: %w", StagePublish, err)
		}
		popts.Attestations = []sign.Predicate{p}
	}
	if res.Test != nil {
		doc, err := json.MarshalIndent(res.Test, "", "  ")
		if err != nil {
			res.Failed = StagePublish
			return res, fmt.Errorf("release stopped at %s: encoding the upgrade test's result: %w", StagePublish, err)
		}
		popts.Attachments = []catalog.Attachment{{Name: UpgradeTestAttachment, MediaType: UpgradeTestMediaType, Data: append(doc, '\n')}}
	}
	published, err := publish.Run(ctx, pkg, targets, popts)
	for i, r := range published {
		if r.Status != "" {
			res.Published = append(res.Published, Published{Result: r, Name: p.Publish[i].Name, Test: p.Publish[i].Test})
		}
	}
	if err != nil {
		res.Failed = StagePublish
		return res, fmt.Errorf("release stopped at %s (run it again: catalogs that have the package report it as already published): %w", StagePublish, err)
	}

	// 4. Bump.
	if !p.Runs(StageBump) {
		if p.Channel == chart.ChannelDev && opts.Bump != nil && len(opts.Bump.Repos) > 0 {
			log.Info("not bumping GitOps repositories for a dev build", "version", res.Version)
		}
		res.Skipped = append(res.Skipped, StageBump)
		return res, nil
	}
	track.start(StageBump, fmt.Sprintf("%d repositories", len(opts.Bump.Repos)))
	req := opts.Bump.Request
	req.Chart, req.Version = res.Chart, res.Version
	if v := p.Bump.Versions; v != nil {
		vs, err := v.Catalog.Versions(ctx, res.Chart)
		if err != nil {
			res.Failed = StageBump
			return res, fmt.Errorf("release stopped at %s: listing the versions of %s: %w", StageBump, res.Chart, err)
		}
		req.Available = append(req.Available, vs...)
		for _, r := range res.Published { // the digest Flux will see, for digest markers and refs
			if r.Catalog == v.Ref && r.Manifest != "" {
				req.Digest = r.Manifest
			}
		}
	}
	if err := req.Validate(); err != nil {
		res.Failed = StageBump
		return res, err
	}
	var errs []error
	apply := opts.Bump.Apply
	if apply.Logger == nil {
		apply.Logger = log
	}
	bumped, berrs := gitops.BumpAll(ctx, opts.Bump.Repos, req, apply, opts.Bump.Parallel)
	for i, repo := range opts.Bump.Repos {
		if bumped[i] != nil {
			res.Bumped = append(res.Bumped, bumped[i])
		}
		if berrs[i] != nil {
			errs = append(errs, fmt.Errorf("bumping %s: %w", repo, berrs[i]))
		}
	}
	if err := errdef.Join(errs...); err != nil {
		res.Failed = StageBump
		return res, fmt.Errorf("release published %s %s but a bump failed (run `chartship bump` for the failed repositories): %w", res.Chart, res.Version, err)
	}
	return res, nil
}
