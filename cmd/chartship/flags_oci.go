package main

import (
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/errdef"
)

const ociFlagCategory = "OCI registries"

// ociFlags are the flags that configure OCI registries (oci:// catalogs).
// Every flag also reads CHARTSHIP_<FLAG_NAME> (main.go adds it); the ones that
// mirror a well-known variable read that too.
func ociFlags() []cli.Flag {
	def := oci.DefaultOptions()
	return []cli.Flag{
		&cli.BoolFlag{Name: "plain-http", Category: ociFlagCategory,
			Usage: "talk plain HTTP to OCI registries (local test registries only)"},
		&cli.BoolFlag{Name: "insecure-skip-tls-verify", Category: ociFlagCategory,
			Usage: "accept any TLS certificate from OCI registries (throwaway test registries only; prefer --ca-file)"},
		&cli.StringFlag{Name: "ca-file", Category: ociFlagCategory, TakesFile: true,
			Usage: "PEM file of extra CAs to trust for OCI registries (a private registry's CA)"},
		&cli.StringFlag{Name: "username", Category: ociFlagCategory, Sources: cli.EnvVars("CHARTSHIP_REGISTRY_USERNAME"),
			Usage: "OCI registry user (an ACR admin user or service principal ID); without it: docker/helm logins, then Azure AD for ACR"},
		&cli.StringFlag{Name: "password", Category: ociFlagCategory, Sources: cli.EnvVars("CHARTSHIP_REGISTRY_PASSWORD"),
			Usage: "OCI registry password; prefer the environment variable to the command line"},
		&cli.IntFlag{Name: "retries", Category: ociFlagCategory, Value: def.Retries,
			Usage: "retries per registry request (bump: and per git transfer) after a 5xx, 429, 408, a dropped connection or a stall (0: never retry)"},
		&cli.DurationFlag{Name: "registry-timeout", Category: ociFlagCategory, Value: def.Timeout,
			Usage: "give up one registry operation (a push, a pull, a listing), retries included, after this long"},
		&cli.DurationFlag{Name: "request-timeout", Category: ociFlagCategory, Value: def.RequestTimeout,
			Usage: "abandon and retry one registry request (bump: or git transfer) that makes no progress (no answer, no body bytes) for this long"},
		&cli.BoolFlag{Name: "force", Category: ociFlagCategory,
			Usage: "overwrite a pre-release version (1.2.3-dev.4) that holds different content: for dev charts in test namespaces only; released versions are never overwritten"},
		&cli.StringFlag{Name: "azure-auth", Category: ociFlagCategory, Value: def.ACR.Auth,
			Usage: "Azure AD sign-in for ACR: auto (*.azurecr.io: environment, then workload identity, then managed identity), environment, workload-identity, managed-identity or off"},
		&cli.StringFlag{Name: "azure-token", Category: ociFlagCategory,
			Usage: "an Azure AD access token to exchange for ACR access (e.g. from az account get-access-token); wins over --azure-auth"},
		&cli.StringFlag{Name: "azure-tenant-id", Category: ociFlagCategory, Sources: cli.EnvVars("AZURE_TENANT_ID"),
			Usage: "Azure AD tenant for the ACR token exchange"},
		&cli.StringFlag{Name: "azure-client-id", Category: ociFlagCategory,
			Usage: "client ID of a user-assigned managed identity or workload identity (default: AZURE_CLIENT_ID)"},
		&cli.StringFlag{Name: "azure-authority-host", Category: ociFlagCategory, Sources: cli.EnvVars("AZURE_AUTHORITY_HOST"),
			Usage: "Azure AD authority for sovereign or private clouds"},
	}
}

// ociReadFlags are the OCI flags of commands that only read registries (no --force).
func ociReadFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range ociFlags() {
		if f.Names()[0] != "force" {
			out = append(out, f)
		}
	}
	return out
}

// concatFlags joins flag lists.
func concatFlags(lists ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// ociOptions reads the OCI flags over oci.DefaultOptions and checks them
// (oci.Options.Validate: the same check the library makes).
func ociOptions(cmd *cli.Command) (oci.Options, error) {
	o := oci.DefaultOptions()
	o.PlainHTTP = cmd.Bool("plain-http")
	o.InsecureSkipTLSVerify = cmd.Bool("insecure-skip-tls-verify")
	o.CAFile = cmd.String("ca-file")
	o.Username, o.Password = cmd.String("username"), cmd.String("password")
	o.Retries = cmd.Int("retries")
	o.Timeout = cmd.Duration("registry-timeout")
	o.RequestTimeout = cmd.Duration("request-timeout")
	o.Force = cmd.Bool("force")
	o.ACR = oci.ACROptions{
		Auth:          cmd.String("azure-auth"),
		Token:         cmd.String("azure-token"),
		TenantID:      cmd.String("azure-tenant-id"),
		ClientID:      cmd.String("azure-client-id"),
		AuthorityHost: cmd.String("azure-authority-host"),
	}
	if o.Timeout <= 0 {
		return o, errdef.Usage(fmt.Errorf("--registry-timeout %s: give a positive duration such as 5m", o.Timeout))
	}
	return o, o.Validate()
}
