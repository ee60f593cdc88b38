package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/internal/errdef"
)

func packageCommand() *cli.Command {
	return &cli.Command{
		Name:  "package",
		Usage: "(not yet available)",
		Action: func(context.Context, *cli.Command) error {
			return errdef.Usage(errors.New("package is not available in this build yet"))
		},
	}
}
