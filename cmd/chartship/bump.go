package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/internal/errdef"
)

func bumpCommand() *cli.Command {
	return &cli.Command{
		Name:  "bump",
		Usage: "(not yet available)",
		Action: func(context.Context, *cli.Command) error {
			return errdef.Usage(errors.New("bump is not available in this build yet"))
		},
	}
}
