package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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
			&cli.StringFlag{Name: "plan", Usage: "the JSON of `chartship bump --dry-run -o json`: call the Receiver only when a stage it reconciles moves (with --receiver-name)"},
			&cli.StringFlag{Name: "receiver-name", Usage: "the Receiver's NAMESPACE/NAME in the fleet repository (with --plan)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if plan := cmd.String("plan"); plan != "" || cmd.String("receiver-name") != "" {
				moving, err := movingReceivers(plan, cmd.String("receiver-name"))
				if err != nil {
					return err
				}
				if !moving {
					res := struct {
						Skipped string `json:"skipped"`
					}{fmt.Sprintf("Receiver %s: no stage it reconciles moves in %s", cmd.String("receiver-name"), plan)}
					return render(cmd, res, func(w io.Writer) { fmt.Fprintf(w, "not notified: %s\n", res.Skipped) })
				}
			}
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

// movingReceivers reports whether the Receiver name is among the moving
// stages' Receivers of a bump plan file.
func movingReceivers(planFile, name string) (bool, error) {
	if planFile == "" || name == "" {
		return false, errdef.Usage(errors.New("--plan and --receiver-name go together: the bump plan (JSON) and the Receiver's NAMESPACE/NAME"))
	}
	b, err := os.ReadFile(planFile)
	if err != nil {
		return false, errdef.Usage(fmt.Errorf("--plan: %w", err))
	}
	var out struct {
		Repos []struct {
			Plan *gitops.Plan `json:"plan"`
		} `json:"repos"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return false, errdef.Usage(fmt.Errorf("--plan %s: not the JSON of `chartship bump --dry-run -o json`: %v", planFile, err))
	}
	for _, r := range out.Repos {
		if r.Plan != nil && slices.Contains(r.Plan.MovingReceivers(), name) {
			return true, nil
		}
	}
	return false, nil
}
