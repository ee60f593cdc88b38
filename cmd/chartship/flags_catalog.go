package main

import (
	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog"
)

// catalogFlags are the flags of commands that write to catalogs of any kind: the
// OCI and git flags, with one --retries shared by both.
func catalogFlags() []cli.Flag {
	out := []cli.Flag{
		// Both kinds of retry a publish makes share one default (internal/retry).
		&cli.IntFlag{Name: "retries", Value: catalog.DefaultOptions().OCI.Retries,
			Usage: "retries of a registry request that failed with 5xx, 429, 408, a dropped connection or a stall, and of a git transfer that failed so or a push rejected because the catalog moved (0: never retry)"},
		&cli.DurationFlag{Name: "request-timeout", Value: catalog.DefaultOptions().OCI.RequestTimeout,
			Usage: "abandon and retry one registry request or git transfer that makes no progress (no answer, no bytes) for this long"},
	}
	for _, f := range concatFlags(ociFlags(), gitFlags()) {
		if n := f.Names()[0]; n != "retries" && n != "request-timeout" {
			out = append(out, f)
		}
	}
	return out
}

// catalogOptions reads the catalog flags of cmd.
func catalogOptions(cmd *cli.Command) (catalog.Options, error) {
	oci, err := ociOptions(cmd)
	if err != nil {
		return catalog.Options{}, err
	}
	git, err := gitOptions(cmd)
	if err != nil {
		return catalog.Options{}, err
	}
	return catalog.Options{Logger: logger(cmd), OCI: oci, Git: git}, nil
}
