package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
)

// monorepoFlags pick the charts of a monorepo (package, upgrade-test, release).
func monorepoFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tag-prefix", Value: chart.DefaultTagPrefix, Usage: "prefix of release tags; {chart} stands for the chart's name: {chart}/v gives hello/v1.2.0 in a monorepo"},
		&cli.BoolFlag{Name: "changed", Usage: "monorepo: run for each chart under helm/ or charts/ that changed since its last release tag (or --since)"},
		&cli.StringFlag{Name: "since", Usage: "with --changed: the git revision to compare with (default: each chart's last release tag)"},
	}
}

// changedCharts lists the charts under root that --changed picks (see chart.Changed).
func changedCharts(ctx context.Context, cmd *cli.Command, root string) ([]string, error) {
	dirs, err := chart.Changed(ctx, root, chart.ChangedOptions{Since: cmd.String("since"), TagPrefix: cmd.String("tag-prefix")})
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		logger(cmd).Info("no chart changed", "root", root, "since", cmd.String("since"))
	}
	return dirs, nil
}

// checkSince: --since only means something with --changed.
func checkSince(cmd *cli.Command) error {
	if cmd.String("since") != "" && !cmd.Bool("changed") {
		return errdef.Usage(errors.New("--since goes with --changed: give both, or neither"))
	}
	return nil
}
