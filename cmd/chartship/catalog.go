package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"

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
		Name:      "prune",
		Usage:     "remove old versions (entries, archives, -meta/ folders) from a test catalog in one commit",
		UsageText: `chartship catalog prune --to git+https://github.com/ORG/test-catalog.git --match '-dev\.' --older-than 720h [--dry-run]`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "to", Required: true, Usage: "the catalog: a git+… URL or a name from .chartship.yaml"},
			&cli.StringFlag{Name: "match", Required: true, Usage: "regular expression a version must match to be pruned, e.g. '-dev\\.'"},
			&cli.DurationFlag{Name: "older-than", Required: true, Usage: "prune only versions published longer ago than this, e.g. 720h"},
			&cli.BoolFlag{Name: "dry-run", Usage: "list what would be pruned; change nothing"},
			&cli.StringFlag{Name: "config-dir", Value: ".", Usage: "directory holding .chartship.yaml"},
		}, gitFlags()...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			match, err := regexp.Compile(cmd.String("match"))
			if err != nil {
				return errdef.Usage(fmt.Errorf("--match: %w", err))
			}
			if cmd.Duration("older-than") <= 0 {
				return errdef.Usage(errors.New("--older-than: give a positive duration, e.g. 720h"))
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
			gopts, err := gitOptions(cmd)
			if err != nil {
				return err
			}
			c, err := cfg.Open(cmd.String("to"), catalog.Options{Logger: logger(cmd), Git: gopts})
			if err != nil {
				return err
			}
			pr, ok := c.(catalog.Pruner)
			if !ok {
				return errdef.Usage(fmt.Errorf("catalog %s can't be pruned: only git catalogs (git+…) can", c))
			}
			res, err := pr.Prune(ctx, catalog.PruneOptions{Match: match, OlderThan: cmd.Duration("older-than"), DryRun: cmd.Bool("dry-run")})
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
