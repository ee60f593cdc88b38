package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/publish"
	"github.com/chartship/chartship/release"
)

func publishCommand() *cli.Command {
	return &cli.Command{
		Name:      "publish",
		Usage:     "publish packaged charts to catalogs (OCI registries, git-hosted Helm catalogs)",
		ArgsUsage: "PKG.tgz [PKG.tgz…]",
		Description: `Publishes each package to every catalog given with --to (a URL or a name from
.chartship.yaml). Without --to, release versions go to the release catalogs of
.chartship.yaml and pre-releases (dev builds) to its test catalogs.

Publishing is idempotent: a catalog that already holds the same bytes reports
"already published" (exit 0); a released version with different bytes is refused
(exit 2) and nothing is changed.

  chartship publish build/hello-1.4.0.tgz --to oci://myregistry.azurecr.io/charts \
    --to git+https://github.com/ORG/catalog.git`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "to", Usage: "catalog to publish to (repeatable): oci://REGISTRY/NAMESPACE, git+https://HOST/ORG/REPO.git, git+ssh://…, git+file://…, or a name from .chartship.yaml"},
			&cli.StringFlag{Name: "config-dir", Usage: "directory holding .chartship.yaml (default: the nearest one from . up to the work tree's root)"},
		}, concatFlags(catalogFlags(), signFlags())...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.NArg() == 0 {
				return errdef.Usage(errors.New("publish: give the package(s) to publish, e.g. chartship publish build/hello-1.0.0.tgz --to oci://REGISTRY/charts"))
			}
			opts, err := catalogOptions(cmd)
			if err != nil {
				return err
			}
			so, err := signOptions(cmd)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd.String("config-dir"), ".")
			if err != nil {
				return err
			}
			var pkgs []*chart.Package
			for _, p := range cmd.Args().Slice() {
				pkg, err := chart.Open(p)
				if err != nil {
					return err
				}
				pkgs = append(pkgs, pkg)
			}
			var all []release.Published
			var errs []error
			for _, pkg := range pkgs {
				named, err := openTargets(cfg, cmd.StringSlice("to"), pkg, opts)
				if err != nil {
					return err
				}
				targets := make([]publish.Target, len(named))
				for i, t := range named {
					targets[i] = t.Catalog
				}
				res, err := publish.Run(ctx, pkg, targets, publish.Options{Logger: logger(cmd), Sign: so})
				for i, r := range res {
					if r.Status != "" {
						all = append(all, release.Published{Result: r, Name: named[i].Name, Test: named[i].Test})
					}
				}
				errs = append(errs, err)
			}
			if err := render(cmd, all, func(w io.Writer) { printPublishResults(w, all) }); err != nil {
				return err
			}
			return errdef.Join(errs...)
		},
	}
}

// openTargets opens the catalogs to publish pkg to, as release.Routing
// decides: those named with --to, or else the configured release catalogs for a
// release and test catalogs for a pre-release.
func openTargets(cfg *catalog.Config, to []string, pkg *chart.Package, opts catalog.Options) ([]release.Target, error) {
	test := chart.IsDevBuild(pkg.Version())
	ts, err := release.OpenTargets(release.Routing{Config: cfg, To: to}, test, opts)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		kind := "release"
		if test {
			kind = "test"
		}
		return nil, errdef.Usage(fmt.Errorf("%s: no --to given and %s names no %s catalogs; give --to oci://… or git+https://…", pkg, catalog.ConfigFile, kind))
	}
	return ts, nil
}

func printPublishResults(w io.Writer, results []release.Published) {
	for _, r := range results {
		fmt.Fprintf(w, "%-17s %s-%s → %s\n", r.Status, r.Chart, r.Version, r.Ref)
		fmt.Fprintf(w, "                  in %s\n", r.Describe())
		if r.Note != "" {
			fmt.Fprintf(w, "                  note: %s\n", r.Note)
		}
		for _, s := range r.Signatures {
			fmt.Fprintf(w, "  %-15s %s → %s\n", s.Status, s.PredicateType, s.Ref)
		}
	}
}
