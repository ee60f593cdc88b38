package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/internal/errdef"
)

func catalogCommand() *cli.Command {
	return &cli.Command{
		Name:  "catalog",
		Usage: "look after catalogs",
		Commands: []*cli.Command{
			catalogPruneCommand(),
		},
	}
}

func catalogPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove old dev builds (pre-release versions) from a test catalog: git (entries, archives, -meta/ folders, in one commit) or OCI (their tags' manifests); never a release",
		UsageText: `chartship catalog prune --to git+https://github.com/ORG/test-catalog.git --match '-dev\.' --older-than 30d [--dry-run]
chartship catalog prune --to oci://REGISTRY/test-charts --chart hello --match '-dev\.' --older-than 720h --dry-run`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "to", Required: true, Usage: "the catalog: a git+… or oci:// URL or a name from .chartship.yaml"},
			&cli.StringFlag{Name: "match", Required: true, Usage: "regular expression a version must match to be pruned, e.g. '-dev\\.'"},
			&cli.StringFlag{Name: "older-than", Required: true, Usage: "prune only versions published longer ago than this: 30d, 36h, 90m"},
			&cli.StringSliceFlag{Name: "chart", Usage: "only this chart (repeatable); OCI registries that don't list their repositories need it"},
			&cli.BoolFlag{Name: "dry-run", Usage: "list what would be pruned; change nothing"},
			&cli.StringFlag{Name: "config-dir", Value: ".", Usage: "directory holding .chartship.yaml"},
		}, pruneCatalogFlags()...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			match, err := regexp.Compile(cmd.String("match"))
			if err != nil {
				return errdef.Usage(fmt.Errorf("--match: %w", err))
			}
			age, err := parseAge(cmd.String("older-than"))
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd.String("config-dir"), ".")
			if err != nil {
				return err
			}
			named, err := cfg.Resolve(cmd.String("to"))
			if err != nil {
				return err
			}
			if named.Name != "" && !named.Test {
				return errdef.Usage(fmt.Errorf("catalog %q is a release catalog (test: false in %s); prune only test catalogs", named.Name, catalog.ConfigFile))
			}
			copts, err := catalogOptions(cmd)
			if err != nil {
				return err
			}
			c, err := cfg.Open(cmd.String("to"), copts)
			if err != nil {
				return err
			}
			pr, ok := c.(catalog.Pruner)
			if !ok {
				return errdef.Usage(fmt.Errorf("catalog %s can't be pruned: only git (git+…) and OCI (oci://) catalogs can", c))
			}
			res, err := pr.Prune(ctx, catalog.PruneOptions{Match: match, OlderThan: age, DryRun: cmd.Bool("dry-run"), Charts: splitList(cmd.StringSlice("chart"))})
			if err != nil {
				return err
			}
			return render(cmd, res, func(w io.Writer) {
				verb := "pruned"
				if res.DryRun {
					verb = "would prune"
				}
				for _, v := range res.Removed {
					fmt.Fprintf(w, "%s %s %s (created %s)\n", verb, v.Chart, v.Version, v.Created.Format("2006-01-02"))
				}
				fmt.Fprintf(w, "%s %d versions from %s\n", verb, len(res.Removed), res.Catalog)
			})
		},
	}
}

// pruneCatalogFlags are the catalog flags a prune needs (no --force).
func pruneCatalogFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range catalogFlags() {
		if f.Names()[0] != "force" {
			out = append(out, f)
		}
	}
	return out
}

var ageRE = regexp.MustCompile(`^([0-9]+)d$`)

// parseAge reads --older-than: a Go duration (720h, 90m) or days (30d).
func parseAge(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if m := ageRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		d, err = time.Duration(n)*24*time.Hour, nil
	}
	if err != nil || d <= 0 {
		return 0, errdef.Usage(fmt.Errorf("--older-than %q: give a positive age such as 30d, 36h or 90m", s))
	}
	return d, nil
}
