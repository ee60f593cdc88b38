package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/sign"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a chart's cosign signature (and its signed upgrade-test attestation) in an OCI registry",
		ArgsUsage: "oci://REGISTRY/NAMESPACE/CHART:VERSION",
		Description: `Checks that the chart's manifest carries a sigstore bundle signed by the key (or the
keyless identity) given, as cosign sign writes it, and with --require-upgrade-test that
a signed upgrade-test attestation says the upgrade from --from (default: the previous
release in the registry) passed. Exit 0 when it does, 2 when not, saying what was found.

  chartship verify oci://ghcr.io/acme/charts/hello:1.4.0 --cosign-key cosign.pub \
    --require-upgrade-test --from 1.3.2`,
		Flags: concatFlags(verifyFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "require-upgrade-test", Usage: "also require a signed upgrade-test attestation that the upgrade from --from passed"},
			&cli.StringFlag{Name: "from", Usage: "with --require-upgrade-test: the version upgraded from (default: the previous release)"},
		}, ociReadFlags()),
		Action: runVerify,
	}
}

func runVerify(ctx context.Context, cmd *cli.Command) error {
	if cmd.NArg() != 1 {
		return errdef.Usage(errors.New("verify takes one argument: oci://REGISTRY/NAMESPACE/CHART:VERSION"))
	}
	if cmd.String("from") != "" && !cmd.Bool("require-upgrade-test") {
		return errdef.Usage(errors.New("--from goes with --require-upgrade-test"))
	}
	catRef, chartName, version, err := oci.SplitChartRef(cmd.Args().First())
	if err != nil {
		return err
	}
	vo, err := verifyOptions(cmd)
	if err != nil {
		return err
	}
	v, err := sign.NewVerifier(vo)
	if err != nil {
		return err
	}
	oo, err := ociOptions(cmd)
	if err != nil {
		return err
	}
	oo.Logger = logger(cmd)
	cat, err := oci.Open(catRef, oo)
	if err != nil {
		return err
	}
	var res *sign.Verification
	if cmd.Bool("require-upgrade-test") {
		res, err = v.VerifyUpgrade(ctx, cat, chartName, version, cmd.String("from"))
	} else {
		res, err = v.Verify(ctx, cat, chartName, version)
	}
	if res != nil && err == nil {
		if rerr := render(cmd, res, func(w io.Writer) { res.Text(w) }); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		if res != nil && state(cmd).output == "json" {
			_ = render(cmd, res, func(io.Writer) {})
		}
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}
