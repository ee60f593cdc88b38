package main

import (
	"errors"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/sign"
)

const signFlagCategory = "signing (cosign)"

// signFlags configure cosign signing of OCI pushes (package sign).
func signFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cosign-key", Category: signFlagCategory, TakesFile: true,
			Usage: "sign every OCI push with this cosign private key (cosign generate-key-pair's cosign.key; its password in COSIGN_PASSWORD)"},
		&cli.BoolFlag{Name: "cosign-keyless", Category: signFlagCategory,
			Usage: "sign every OCI push keyless: a Fulcio certificate for the OIDC token in SIGSTORE_ID_TOKEN (or CircleCI's CIRCLE_OIDC_TOKEN_V2), logged in Rekor"},
		&cli.StringFlag{Name: "fulcio-url", Category: signFlagCategory, Value: sign.DefaultFulcioURL, Usage: "Fulcio for --cosign-keyless"},
		&cli.StringFlag{Name: "rekor-url", Category: signFlagCategory, Value: sign.DefaultRekorURL, Usage: "Rekor for --cosign-keyless"},
		&cli.StringFlag{Name: "trusted-root", Category: signFlagCategory, TakesFile: true,
			Usage: "sigstore trusted_root.json (Fulcio CA, Rekor key) that verifies keyless signatures"},
	}
}

// signOptions reads the signing flags and their secrets from the environment
// (COSIGN_PASSWORD, SIGSTORE_ID_TOKEN, CIRCLE_OIDC_TOKEN_V2), as cosign does.
func signOptions(cmd *cli.Command) (sign.Options, error) {
	o := sign.Options{Key: cmd.String("cosign-key"), Logger: logger(cmd)}
	if o.Key != "" {
		o.Password = os.Getenv("COSIGN_PASSWORD")
	}
	if cmd.Bool("cosign-keyless") {
		k := &sign.KeylessOptions{FulcioURL: cmd.String("fulcio-url"), RekorURL: cmd.String("rekor-url"), TrustedRoot: cmd.String("trusted-root")}
		k.IDToken, k.TokenSource = os.Getenv("SIGSTORE_ID_TOKEN"), "SIGSTORE_ID_TOKEN"
		if k.IDToken == "" {
			k.IDToken, k.TokenSource = os.Getenv("CIRCLE_OIDC_TOKEN_V2"), "CIRCLE_OIDC_TOKEN_V2"
		}
		o.Keyless = k
	}
	return o, o.Validate()
}

// verifyFlags say whose signature counts, as cosign verify spells them.
func verifyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cosign-key", Category: signFlagCategory, TakesFile: true, Usage: "the signer's public key (cosign.pub)"},
		&cli.StringFlag{Name: "certificate-identity", Category: signFlagCategory, Usage: "keyless: the identity (SAN) the signing certificate must name"},
		&cli.StringFlag{Name: "certificate-oidc-issuer", Category: signFlagCategory, Usage: "keyless: the OIDC issuer the signing certificate must name"},
		&cli.StringFlag{Name: "trusted-root", Category: signFlagCategory, TakesFile: true, Usage: "keyless: sigstore trusted_root.json of the Fulcio and Rekor that signed"},
	}
}

func verifyOptions(cmd *cli.Command) (sign.VerifyOptions, error) {
	o := sign.VerifyOptions{
		Key:                   cmd.String("cosign-key"),
		CertificateIdentity:   cmd.String("certificate-identity"),
		CertificateOIDCIssuer: cmd.String("certificate-oidc-issuer"),
		TrustedRoot:           cmd.String("trusted-root"),
	}
	return o, o.Validate()
}

// requireSigning says a flag needs the signing flags.
func requireSigning(flag string, o sign.Options) error {
	if !o.Enabled() {
		return errdef.Usage(errors.New(flag + " signs: give --cosign-key (COSIGN_PASSWORD) or --cosign-keyless"))
	}
	return nil
}
