package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/release"
	"github.com/chartship/chartship/upgradetest"
)

func upgradeTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "upgrade-test",
		Usage:     "install the released version in a real cluster, upgrade it to the new package, check it stays healthy",
		ArgsUsage: "PACKAGE.tgz|CHART_DIR",
		Description: `Per values file (the chart's ci/*-values.yaml, or --values), in a fresh namespace:
install the from-version, wait until every object is healthy (kstatus), helm test,
run --hook, upgrade to the package, wait healthy, helm test, optionally roll back
(--rollback-check), uninstall. Exit 2 when an upgrade breaks, 3 when the cluster or
catalog can't be reached.

Example:
  chartship upgrade-test build/hello-1.1.0.tgz --from-catalog oci://ghcr.io/acme/charts \
    --cluster kubeconfig --junit test-results/upgrade.xml`,
		Flags: concatFlags(
			clusterFlags(),
			[]cli.Flag{&cli.StringFlag{Name: "from-catalog", Aliases: []string{"catalog"}, Usage: "catalog the from-versions come from: oci://REGISTRY/NAMESPACE, git+https://…, or a helm repository URL"}},
			scenarioFlags(),
			[]cli.Flag{shardFlag()},
			monorepoFlags(),
			ociReadFlags(),
			[]cli.Flag{&cli.BoolFlag{Name: "attest", Category: signFlagCategory, Usage: "attach the signed upgrade-test attestation to the tested version, already pushed to the --catalog oci://… (needs --cosign-key or --cosign-keyless)"}},
			signFlags(),
		),
		Action: runUpgradeTest,
	}
}

// clusterFlags choose the cluster an upgrade test runs in.
func clusterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cluster", Value: "kind", Usage: "where to run: kind (create or reuse a kind cluster) or kubeconfig (an existing cluster; the default when --kubeconfig or --kube-context is given)"},
		&cli.StringFlag{Name: "kubeconfig", Usage: "kubeconfig file for --cluster kubeconfig (default: $KUBECONFIG, then ~/.kube/config)"},
		&cli.StringFlag{Name: "kube-context", Usage: "kubeconfig context (default: the current one)"},
		&cli.StringFlag{Name: "kind-name", Value: "chartship", Usage: "kind cluster name; reused when it exists"},
		&cli.StringFlag{Name: "kind-node-image", Usage: "kind node image, e.g. kindest/node:v1.37.2 (scripts/kind-env builds one offline)"},
		&cli.BoolFlag{Name: "keep-cluster", Usage: "keep the kind cluster this run created"},
		&cli.StringSliceFlag{Name: "load-image", Usage: "side-load this local image of the container engine into the kind cluster's nodes before installing (repeatable), as `kind load docker-image` does"},
	}
}

// scenarioFlags say what an upgrade test runs and how.
func scenarioFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "from", Value: "stable", Usage: "from-versions: stable, X.Y.Z, N-1, oldest-supported, a comma-separated list, or fleet (every version --fleet-repo runs)"},
		&cli.StringSliceFlag{Name: "crds", Usage: "CustomResourceDefinitions the chart's objects need but don't ship (file, directory or URL; repeatable): installed first; their objects are reported as not reconciled here"},
		&cli.StringSliceFlag{Name: "fleet-repo", Usage: "GitOps repository (path or git URL) whose running versions --from fleet tests; repeatable (default: .chartship.yaml fleetRepos); git over HTTPS with CHARTSHIP_GIT_TOKEN or GITHUB_TOKEN"},
		&cli.StringFlag{Name: "from-file", Usage: "the from-version package (.tgz or chart directory) instead of the catalog"},
		&cli.StringSliceFlag{Name: "values", Usage: "values file; one scenario each (default: the chart's ci/*-values.yaml)"},
		&rawSliceFlag{Name: "set", Usage: "set a value in every scenario, as helm --set does: a.b=1,c=true (repeatable)"},
		&rawSliceFlag{Name: "set-string", Usage: "set a string value in every scenario, as helm --set-string does (repeatable)"},
		&rawSliceFlag{Name: "set-file", Usage: "set a value from a file's content in every scenario, as helm --set-file does: key=PATH (repeatable)"},
		&cli.StringFlag{Name: "hook", Usage: "shell command run before each upgrade; gets CHARTSHIP_STAGE, _FROM_VERSION, _TO_VERSION, _RELEASE, _NAMESPACE and KUBECONFIG"},
		&cli.BoolFlag{Name: "rollback-check", Usage: "after the upgrade, roll back to the from-version and check it is healthy"},
		&cli.BoolFlag{Name: "skip-tests", Usage: "don't run helm test"},
		&cli.StringFlag{Name: "breaking", Value: "test", Usage: "major upgrades: test (run, report as major), warn (failure is a warning), fail"},
		&cli.IntFlag{Name: "parallel", Value: 1, Usage: "scenarios run at once"},
		&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "bound for each wait: health, hooks, tests"},
		&cli.IntFlag{Name: "max-restarts", Value: upgradetest.DefaultMaxRestarts, Usage: "a container restarting this often in CrashLoopBackOff fails the upgrade at once"},
		&cli.StringFlag{Name: "junit", Usage: "write a JUnit report (CircleCI test results) to this file"},
		&cli.StringFlag{Name: "result", Usage: "write the result document (from, to, Kubernetes version, duration, passed) as JSON to this file"},
	}
}

// scenarioOptions reads the scenario flags; Chart and Catalog are left to the caller.
func scenarioOptions(cmd *cli.Command) (upgradetest.Options, error) {
	breaking, err := upgradetest.ParseBreaking(cmd.String("breaking"))
	if err != nil {
		return upgradetest.Options{}, err
	}
	var fleet upgradetest.FleetSource
	if repos := splitList(cmd.StringSlice("fleet-repo")); len(repos) > 0 {
		fleet = release.FleetSource(repos, fleetBumpOptions())
	}
	return upgradetest.Options{
		Fleet:         fleet,
		CRDs:          splitList(cmd.StringSlice("crds")),
		From:          cmd.String("from"),
		FromFile:      cmd.String("from-file"),
		Values:        cmd.StringSlice("values"),
		Set:           upgradetest.SetValues{Set: cmd.StringSlice("set"), SetString: cmd.StringSlice("set-string"), SetFile: cmd.StringSlice("set-file")},
		Hook:          cmd.String("hook"),
		RollbackCheck: cmd.Bool("rollback-check"),
		SkipTests:     cmd.Bool("skip-tests"),
		Breaking:      breaking,
		Parallel:      int(cmd.Int("parallel")),
		Timeout:       cmd.Duration("timeout"),
		MaxRestarts:   int(cmd.Int("max-restarts")),
		Logger:        logger(cmd),
	}, nil
}

// openCluster opens the cluster the cluster flags name; close it when done. --kubeconfig or
// --kube-context without --cluster means the kubeconfig cluster.
func openCluster(ctx context.Context, cmd *cli.Command) (*upgradetest.Cluster, error) {
	kind := cmd.String("cluster")
	if !cmd.IsSet("cluster") && (cmd.String("kubeconfig") != "" || cmd.String("kube-context") != "") {
		kind = "kubeconfig"
	}
	switch kind {
	case "kind":
		c, err := upgradetest.KindCluster(ctx, upgradetest.KindOptions{
			Name: cmd.String("kind-name"), NodeImage: cmd.String("kind-node-image"),
			Keep: cmd.Bool("keep-cluster"), LoadImages: cmd.StringSlice("load-image"), Logger: logger(cmd),
		})
		if err != nil {
			return nil, errdef.External(err)
		}
		return c, nil
	case "kubeconfig":
		if len(cmd.StringSlice("load-image")) > 0 {
			return nil, errdef.Usage(errors.New("--load-image works with --cluster kind only: load images into an existing cluster the way it takes them"))
		}
		c, err := upgradetest.KubeconfigCluster(cmd.String("kubeconfig"), cmd.String("kube-context"))
		if err != nil {
			return nil, errdef.Usage(err)
		}
		return c, nil
	default:
		return nil, errdef.Usage(fmt.Errorf("--cluster %q: use kind or kubeconfig", cmd.String("cluster")))
	}
}

// closeCluster releases what openCluster created, logging (not failing) on error.
func closeCluster(ctx context.Context, cmd *cli.Command, c *upgradetest.Cluster) {
	if err := c.Close(context.WithoutCancel(ctx)); err != nil {
		logger(cmd).Warn("cleaning up the cluster", "error", err)
	}
}

// writeReports writes the --junit and --result files of an upgrade test report.
func writeReports(cmd *cli.Command, rep *upgradetest.Report) error {
	if path := cmd.String("junit"); path != "" {
		if err := writeFile(path, rep.WriteJUnit); err != nil {
			return errdef.Usage(fmt.Errorf("--junit %s: %w", path, err))
		}
	}
	if path := cmd.String("result"); path != "" {
		err := writeFile(path, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep.Result())
		})
		if err != nil {
			return errdef.Usage(fmt.Errorf("--result %s: %w", path, err))
		}
	}
	return nil
}

func runUpgradeTest(ctx context.Context, cmd *cli.Command) error {
	if err := checkSince(cmd); err != nil {
		return err
	}
	if cmd.Bool("changed") {
		return runUpgradeTestChanged(ctx, cmd)
	}
	if cmd.Args().Len() != 1 {
		return errdef.Usage(errors.New("upgrade-test takes one argument: the package (.tgz) or chart directory to test"))
	}
	to, err := loader.Load(cmd.Args().First())
	if err != nil {
		return errdef.Usage(fmt.Errorf("loading chart %s: %w; pass a package made by `chartship package` or a chart directory", cmd.Args().First(), err))
	}
	events, stopProgress := startProgress(cmd, true)
	defer stopProgress()
	opts, err := upgradeTestOptions(cmd, to)
	if err != nil {
		return err
	}
	opts.Progress = events
	so, err := signOptions(cmd)
	if err != nil {
		return err
	}
	var attestTo *oci.Catalog
	if cmd.Bool("attest") {
		if err := requireSigning("--attest", so); err != nil {
			return err
		}
		ref := cmd.String("from-catalog")
		if k, _ := catalog.KindOf(ref); k != catalog.KindOCI {
			return errdef.Usage(fmt.Errorf("--attest attaches to the chart in an OCI registry: give --from-catalog oci://REGISTRY/NAMESPACE (got %q)", ref))
		}
		oo, err := ociOptions(cmd)
		if err != nil {
			return err
		}
		oo.Logger = logger(cmd)
		if attestTo, err = oci.Open(ref, oo); err != nil {
			return err
		}
	}
	cluster, err := openCluster(ctx, cmd)
	if err != nil {
		return err
	}
	defer closeCluster(ctx, cmd, cluster)

	rep, runErr := upgradetest.Run(ctx, cluster, opts)
	stopProgress()
	if rep == nil || interrupted(ctx) {
		return runErr // no failure report for a run that was stopped
	}
	if err := writeReports(cmd, rep); err != nil {
		return err
	}
	if err := render(cmd, rep, rep.Text); err != nil {
		return err
	}
	if attestTo != nil {
		sigs, err := release.Attest(ctx, attestTo, rep, so, version)
		for _, s := range sigs {
			logger(cmd).Info(s.Status, "predicateType", s.PredicateType, "ref", s.Ref)
		}
		if err != nil {
			return errdef.Join(runErr, err)
		}
	}
	return runErr
}

// upgradeTestOptions reads the flags of an upgrade test of chart to.
func upgradeTestOptions(cmd *cli.Command, to *chart.Chart) (upgradetest.Options, error) {
	opts, err := scenarioOptions(cmd)
	if err != nil {
		return opts, err
	}
	opts.Chart = to
	if opts.Shard, err = readShard(cmd); err != nil {
		return opts, err
	}
	if ref := cmd.String("from-catalog"); ref != "" && opts.FromFile == "" {
		oci, err := ociOptions(cmd)
		if err != nil {
			return opts, err
		}
		if opts.Catalog, err = catalog.Open(ref, catalog.Options{Logger: logger(cmd), OCI: oci}); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// runUpgradeTestChanged tests each chart directory --changed picks, in one cluster.
func runUpgradeTestChanged(ctx context.Context, cmd *cli.Command) error {
	root := cmd.Args().First()
	if root == "" {
		root = "."
	}
	if cmd.Args().Len() > 1 {
		return errdef.Usage(errors.New("upgrade-test --changed takes one argument: the repository directory (default .)"))
	}
	if cmd.String("junit") != "" || cmd.String("result") != "" || cmd.Bool("attest") {
		return errdef.Usage(errors.New("--junit, --result and --attest take one chart's report: with --changed use -o json (one report per chart), or test each chart on its own"))
	}
	dirs, err := changedCharts(ctx, cmd, root)
	if err != nil || len(dirs) == 0 {
		if err == nil {
			err = render(cmd, []*upgradetest.Report{}, func(io.Writer) {})
		}
		return err
	}
	cluster, err := openCluster(ctx, cmd)
	if err != nil {
		return err
	}
	defer closeCluster(ctx, cmd, cluster)
	reps := []*upgradetest.Report{}
	var errs []error
	for _, d := range dirs {
		to, err := loader.Load(d)
		if err != nil {
			errs = append(errs, errdef.Usage(fmt.Errorf("loading chart %s: %w", d, err)))
			continue
		}
		opts, err := upgradeTestOptions(cmd, to)
		if err != nil {
			return err
		}
		rep, err := upgradetest.Run(ctx, cluster, opts)
		if interrupted(ctx) {
			return err
		}
		if rep != nil {
			reps = append(reps, rep)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
		}
	}
	if err := render(cmd, reps, func(w io.Writer) {
		for _, r := range reps {
			r.Text(w)
		}
	}); err != nil {
		return err
	}
	return errdef.Join(errs...)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fleetBumpOptions read fleet repositories: git over HTTPS with the token of
// the environment.
func fleetBumpOptions() gitops.BumpOptions {
	o := gitops.DefaultBumpOptions()
	o.Auth = gitopsAuth("", os.Getenv("CHARTSHIP_GIT_TOKEN"), os.Getenv("GITHUB_TOKEN"))
	return o
}
