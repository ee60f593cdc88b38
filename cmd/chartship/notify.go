package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/errdef"
)

func notifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "notify",
		Usage: "call a Flux Receiver webhook so Flux reconciles its ImageRepository/OCIRepository now",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "receiver", Usage: "the Receiver's webhook URL (https://HOST/hook/…)", Required: true},
			&cli.StringFlag{Name: "token", Usage: "the Receiver's secret token (HMAC key of a generic-hmac Receiver)"},
			&cli.StringFlag{Name: "type", Value: gitops.ReceiverGenericHMAC, Usage: "Receiver type: generic-hmac or generic"},
			&cli.StringFlag{Name: "payload", Usage: "request body (JSON), or @FILE to read it from a file (default {})"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			payload := []byte(cmd.String("payload"))
			if p := cmd.String("payload"); strings.HasPrefix(p, "@") {
				b, err := os.ReadFile(p[1:])
				if err != nil {
					return errdef.Usage(fmt.Errorf("--payload: %w", err))
				}
				payload = b
			}
			res, err := gitops.Notify(ctx, cmd.String("receiver"), gitops.NotifyOptions{
				Type: cmd.String("type"), Token: cmd.String("token"), Payload: payload, Logger: logger(cmd)})
			if err != nil {
				return err
			}
			return render(cmd, res, func(w io.Writer) {
				fmt.Fprintf(w, "notified %s Receiver %s: %d\n", res.Type, res.Receiver, res.Status)
			})
		},
	}
}
