//go:build demo

// The demo command starts an OCI registry server in-process
// (internal/localregistry, distribution/v3): it is built only with
// -tags demo (make demo), so the production binary links no registry server.

package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/internal/demo"
)

// optionalCommands are the commands of a demo build.
func optionalCommands() []*cli.Command { return []*cli.Command{demoCommand()} }

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "release the sample chart into a local registry, git catalog and GitOps repository that the demo starts itself",
		Description: `Starts an OCI registry in-process, creates a git-hosted Helm catalog and a GitOps
repository (bare git repositories under --workdir), wraps the sample chart in an
app repository and releases it twice: v1.0.0, then v1.1.0 upgrade-tested from the
1.0.0 in the registry. Each release publishes to both catalogs and bumps the App
in the GitOps repository. make demo runs it against the local test cluster.`,
		Flags: concatFlags([]cli.Flag{
			&cli.StringFlag{Name: "chart", Value: "testdata/charts/hello", Usage: "the sample chart"},
			&cli.StringFlag{Name: "workdir", Value: "build/demo", Usage: "where the demo keeps what it makes (emptied first)"},
			&cli.StringSliceFlag{Name: "values", Usage: "values file for the upgrade test's scenarios (default: the chart's ci/*-values.yaml)"},
		}, clusterFlags()),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cluster, err := openCluster(ctx, cmd)
			if err != nil {
				return err
			}
			defer closeCluster(ctx, cmd, cluster)
			res, runErr := demo.Run(ctx, demo.Options{
				ChartDir: cmd.String("chart"),
				WorkDir:  cmd.String("workdir"),
				Cluster:  cluster,
				Values:   cmd.StringSlice("values"),
				Logger:   logger(cmd),
			})
			if res == nil {
				return runErr
			}
			if err := render(cmd, res, func(w io.Writer) { printDemo(w, res) }); err != nil {
				return err
			}
			return runErr
		},
	}
}

func printDemo(w io.Writer, r *demo.Result) {
	for _, rel := range r.Releases {
		printRelease(w, rel)
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Registry %s holds hello %s\n", r.Registry, strings.Join(r.Tags, ", "))
	fmt.Fprintf(w, "Git catalog %s, index.yaml:\n", r.Catalog)
	for _, l := range strings.Split(strings.TrimRight(r.IndexYAML, "\n"), "\n") {
		if strings.Contains(l, "version:") || strings.Contains(l, ".tgz") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintf(w, "GitOps repository %s:\n", r.GitOps)
	for _, l := range strings.Split(strings.TrimRight(r.GitOpsLog, "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", l)
	}
	for _, l := range strings.Split(r.AppCR, "\n") {
		if strings.Contains(l, "$imagepolicy") {
			fmt.Fprintf(w, "  App CR now: %s\n", strings.TrimSpace(l))
		}
	}
}
