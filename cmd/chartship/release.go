package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/progress"
	"github.com/chartship/chartship/release"
	"github.com/chartship/chartship/upgradetest"
)

func releaseCommand() *cli.Command {
	return &cli.Command{
		Name:      "release",
		Usage:     "package, upgrade-test, publish and bump in one run",
		ArgsUsage: "[CHART_DIR]",
		Description: `Runs the whole release of the chart in CHART_DIR (default: the current
directory, or the single chart under helm/):

  1. package it (version from the git tag, or a dev pre-release);
  2. upgrade-test it in a cluster from the newest released version
     (--skip-upgrade-test to skip);
  3. publish it to every catalog: --to, or else from .chartship.yaml the release
     catalogs for a tag and the test catalogs for a dev build;
  4. bump the GitOps repositories given with --bump-repo (releases only).

Each stage runs only when the one before succeeded: a chart that breaks its
upgrade is never published. Running a release again is safe. --dry-run prints
the plan (text, or JSON with --output json) and writes nothing.

Example (CircleCI, on a tag):
  chartship release --to release --cluster kind --junit /tmp/results/junit.xml \
    --bump-repo git+https://github.com/ORG/gitops.git --bump-pr`,
		Flags: concatFlags(
			packageFlags(),
			[]cli.Flag{
				&cli.StringSliceFlag{Name: "to", Category: "publish", Usage: "catalog to publish to (repeatable): a URL or a name from .chartship.yaml (default: its release catalogs for a release, test catalogs for a dev build)"},
				&cli.StringFlag{Name: "config-dir", Category: "publish", Usage: "directory holding .chartship.yaml (default: CHART_DIR's git work tree, else CHART_DIR)"},
				&cli.BoolFlag{Name: "dry-run", Usage: "print the plan (version, stages, catalogs, from-versions, bumps) and stop: nothing is packaged, pushed or committed"},
			},
			releaseCatalogFlags(),
			signFlags(),
			[]cli.Flag{
				&cli.BoolFlag{Name: "skip-upgrade-test", Category: "upgrade test", Usage: "publish without the upgrade test"},
				&cli.StringFlag{Name: "from-catalog", Category: "upgrade test", Usage: "catalog the from-version comes from (default: the first release catalog, else the first --to)"},
			},
			categorize("upgrade test", clusterFlags()),
			categorize("upgrade test", scenarioFlags()),
			[]cli.Flag{
				&cli.StringSliceFlag{Name: "bump-repo", Category: "bump", Usage: "GitOps repository to bump after a release (repeatable): local path or git+https://…"},
				&cli.BoolFlag{Name: "bump-pr", Category: "bump", Usage: "open (or update) a GitHub pull request for each bump"},
				&cli.StringFlag{Name: "bump-push-to", Category: "bump", Usage: "push bumps straight onto this branch (Flux's own mode) instead of a bump branch"},
				&cli.StringFlag{Name: "bump-branch", Category: "bump", Usage: "branch to commit bumps on (default chartship/bump-<chart>-<version>)"},
				&cli.StringFlag{Name: "bump-policy", Category: "bump", Value: gitops.PolicySameMajor, Usage: "rule for references without an ImagePolicy: same-major, same-minor, latest, none, or a semver range"},
				&cli.BoolFlag{Name: "bump-allow-none", Category: "bump", Usage: "a --bump-repo without any reference to the chart is fine (default: an error, exit 1)"},
				&cli.StringFlag{Name: "bump-message", Category: "bump", Usage: "commit message template over .Chart .Version .Changes"},
				&cli.IntFlag{Name: "bump-parallel", Category: "bump", Value: gitops.DefaultBumpParallel, Usage: "repositories bumped at once"},
				&cli.StringFlag{Name: "github-token", Category: "bump", Usage: "GitHub token for --bump-pr", Sources: cli.EnvVars("GITHUB_TOKEN")},
				&cli.StringFlag{Name: "github-api", Category: "bump", Usage: "GitHub API base URL (GitHub Enterprise: https://HOST/api/v3/)", Sources: cli.EnvVars("GITHUB_API_URL")},
			},
		),
		Action: runRelease,
	}
}

// releaseCatalogFlags are the catalog flags without the one the package flags
// already have (--plain-http means the same for both).
func releaseCatalogFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range catalogFlags() {
		switch f.Names()[0] {
		case "plain-http":
		default:
			out = append(out, f)
		}
	}
	return out
}

func categorize(category string, flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			f.Category = category
		case *cli.BoolFlag:
			f.Category = category
		case *cli.IntFlag:
			f.Category = category
		case *cli.DurationFlag:
			f.Category = category
		case *cli.StringSliceFlag:
			f.Category = category
		case *rawSliceFlag:
			f.Category = category
		}
	}
	return flags
}

func runRelease(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() > 1 {
		return errdef.Usage(fmt.Errorf("release takes one chart directory, got %d arguments", cmd.Args().Len()))
	}
	dir := cmd.Args().First()
	if dir == "" {
		dir = "."
	}
	if err := checkSince(cmd); err != nil {
		return err
	}
	// One cluster for every chart of a run, opened when the first test needs it.
	var cluster *upgradetest.Cluster
	defer func() {
		if cluster != nil {
			closeCluster(ctx, cmd, cluster)
		}
	}()
	getCluster := func() (*upgradetest.Cluster, error) {
		if cluster != nil {
			return cluster, nil
		}
		c, err := openCluster(ctx, cmd)
		cluster = c
		return c, err
	}
	if !cmd.Bool("changed") {
		// The live view (on a terminal) follows one chart's release; it stops before the summary.
		events, stopProgress := startProgress(cmd, !cmd.Bool("dry-run"))
		defer stopProgress()
		v, text, err := releaseOne(ctx, cmd, dir, getCluster, events, stopProgress)
		if v == nil {
			return err
		}
		if rerr := render(cmd, v, text); rerr != nil {
			return rerr
		}
		return err
	}
	dirs, err := changedCharts(ctx, cmd, dir)
	if err != nil {
		return err
	}
	vs := []any{}
	var texts []func(io.Writer)
	var errs []error
	for _, d := range dirs {
		v, text, err := releaseOne(ctx, cmd, d, getCluster, nil, func() {})
		if v != nil {
			vs, texts = append(vs, v), append(texts, text)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
		}
		if interrupted(ctx) {
			return err
		}
	}
	if err := render(cmd, vs, func(w io.Writer) {
		for _, t := range texts {
			t(w)
		}
	}); err != nil {
		return err
	}
	return errdef.Join(errs...)
}

// releaseOne releases the chart in dir: what to print (nil: nothing) and the error.
func releaseOne(ctx context.Context, cmd *cli.Command, dir string, getCluster func() (*upgradetest.Cluster, error),
	events progress.Func, stopProgress func()) (any, func(io.Writer), error) {
	opts, err := releaseOptions(cmd, dir)
	if err != nil {
		return nil, nil, err
	}
	opts.Progress = events
	plan, err := release.NewPlan(ctx, dir, opts)
	if err != nil {
		return nil, nil, err
	}
	if opts.DryRun {
		return plan, plan.Text, nil
	}
	if opts.Test != nil {
		cluster, err := getCluster()
		if err != nil {
			return nil, nil, err
		}
		plan.SetCluster(cluster)
	}
	res, runErr := release.Execute(ctx, plan)
	stopProgress()
	if interrupted(ctx) {
		return nil, nil, runErr // no failure report for a run that was stopped
	}
	if res.UpgradeTest != nil {
		if err := writeReports(cmd, res.UpgradeTest); err != nil {
			return nil, nil, err
		}
	}
	return res, func(w io.Writer) { printRelease(w, res) }, runErr
}

// releaseOptions reads the release flags: every stage's options and the
// routing inputs; the plan decides the rest.
func releaseOptions(cmd *cli.Command, dir string) (release.Options, error) {
	build, err := packageOptions(cmd)
	if err != nil {
		return release.Options{}, err
	}
	copts, err := catalogOptions(cmd)
	if err != nil {
		return release.Options{}, err
	}
	cfg, err := loadConfig(cmd.String("config-dir"), dir)
	if err != nil {
		return release.Options{}, err
	}
	if build.Version.DevSchema == "" {
		build.Version.DevSchema = chart.DevSchema(cfg.DevSchema)
	}
	opts := release.Options{
		Package:  build,
		Routing:  release.Routing{Config: cfg, To: cmd.StringSlice("to"), FromCatalog: cmd.String("from-catalog")},
		Catalogs: copts,
		DryRun:   cmd.Bool("dry-run"),
		Logger:   logger(cmd),

		ChartshipVersion: version,
	}
	if opts.Sign, err = signOptions(cmd); err != nil {
		return release.Options{}, err
	}
	if !cmd.Bool("skip-upgrade-test") {
		t, err := scenarioOptions(cmd)
		if err != nil {
			return release.Options{}, err
		}
		if t.Fleet == nil && len(cfg.FleetRepos) > 0 {
			t.Fleet = release.FleetSource(cfg.FleetRepos, fleetBumpOptions())
		}
		opts.Test = &release.TestOptions{Upgrade: t}
	}
	if repos := splitList(cmd.StringSlice("bump-repo")); len(repos) > 0 {
		if cmd.Bool("bump-pr") && cmd.String("bump-push-to") != "" {
			return release.Options{}, errdef.Usage(errors.New("--bump-pr and --bump-push-to exclude each other"))
		}
		apply := gitops.DefaultBumpOptions()
		apply.Branch, apply.PushTo, apply.PR = cmd.String("bump-branch"), cmd.String("bump-push-to"), cmd.Bool("bump-pr")
		apply.Message = cmd.String("bump-message")
		apply.AllowNone = cmd.Bool("bump-allow-none")
		apply.Author, apply.Committer = gitops.Signature(copts.Git.Author), gitops.Signature(copts.Git.Committer)
		apply.Sign = copts.Git.Sign
		apply.Retries, apply.RequestTimeout = copts.Git.Retries, copts.Git.RequestTimeout
		apply.GitHub = gitops.GitHubOptions{Token: cmd.String("github-token"), APIURL: cmd.String("github-api")}
		apply.Auth = gitopsAuth(copts.Git.Username, copts.Git.Token, cmd.String("github-token"))
		opts.Bump = &release.BumpOptions{
			Parallel: cmd.Int("bump-parallel"),
			Repos:    repos,
			Request:  gitops.Request{Policy: cmd.String("bump-policy")},
			Apply:    apply,
		}
	}
	return opts, nil
}

// gitopsAuth is the HTTPS auth for GitOps repositories: the first token given
// as the password of username (default x-access-token); none without a token.
func gitopsAuth(username string, tokens ...string) gitops.GitAuth {
	token := firstNonEmpty(tokens...)
	if token == "" {
		return gitops.GitAuth{}
	}
	return gitops.GitAuth{Username: firstNonEmpty(username, "x-access-token"), Password: token}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func printRelease(w io.Writer, r *release.Result) {
	if r.NoBuild != "" {
		fmt.Fprintf(w, "Release %s skipped: %s\n", r.Chart, r.NoBuild)
		return
	}
	fmt.Fprintf(w, "Release %s %s", r.Chart, r.Version)
	switch chart.ChannelOf(r.Version) {
	case chart.ChannelDev:
		fmt.Fprint(w, " (dev build)")
	case chart.ChannelRC:
		fmt.Fprint(w, " (release candidate)")
	}
	fmt.Fprintln(w)
	if r.Path != "" {
		fmt.Fprintf(w, "  packaged   %s  %s\n", r.Path, r.Digest)
	}
	if r.UpgradeTest != nil {
		var b strings.Builder
		r.UpgradeTest.Text(&b)
		for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	for _, p := range r.Published {
		fmt.Fprintf(w, "  %-17s %s\n", p.Status, p.Ref)
		fmt.Fprintf(w, "  %-17s in %s\n", "", p.Describe())
		for _, s := range p.Signatures {
			fmt.Fprintf(w, "    %-15s %s → %s\n", s.Status, s.PredicateType, s.Ref)
		}
	}
	for _, b := range r.Bumped {
		fmt.Fprintf(w, "  bump %s: %s", b.Repo, b.Status)
		if b.Branch != "" {
			fmt.Fprintf(w, " (branch %s)", b.Branch)
		}
		if b.PullRequest != nil {
			fmt.Fprintf(w, " #%d %s", b.PullRequest.Number, b.PullRequest.URL)
		}
		fmt.Fprintln(w)
		if b.Plan != nil {
			b.Plan.StagesText(w)
		}
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  skipped    %s\n", s)
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(w, "  warning    %s\n", warning)
	}
	if r.Failed != "" {
		fmt.Fprintf(w, "  FAILED at  %s\n", r.Failed)
	}
}
