package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/internal/errdef"
)

func notifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "notify",
		Usage: "(not yet available)",
		Action: func(context.Context, *cli.Command) error {
			return errdef.Usage(errors.New("notify is not available in this build yet"))
		},
	}
}
