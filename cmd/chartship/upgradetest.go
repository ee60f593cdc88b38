package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/internal/errdef"
)

func upgradeTestCommand() *cli.Command {
	return &cli.Command{
		Name:  "upgrade-test",
		Usage: "(not yet available)",
		Action: func(context.Context, *cli.Command) error {
			return errdef.Usage(errors.New("upgrade-test is not available in this build yet"))
		},
	}
}
