package main

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v3"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/registrytest"
)

// ociTestCommand is a throwaway command carrying the OCI flags, wired for
// environment variables as main.go wires every command.
func ociTestCommand(action func(context.Context, *cli.Command) error) *cli.Command {
	cmd := &cli.Command{
		Name:           "oci-test",
		Flags:          ociFlags(),
		Writer:         io.Discard,
		ErrWriter:      io.Discard,
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Action:         action,
	}
	addEnvSources(cmd)
	return cmd
}

func ociParse(t *testing.T, args ...string) (oci.Options, error) {
	t.Helper()
	var got oci.Options
	var gotErr error
	cmd := ociTestCommand(func(_ context.Context, cmd *cli.Command) error {
		got, gotErr = ociOptions(cmd)
		return nil
	})
	require.NoError(t, cmd.Run(context.Background(), append([]string{"oci-test"}, args...)))
	return got, gotErr
}

func ociClearEnv(t *testing.T) {
	for _, k := range []string{"CHARTSHIP_REGISTRY_USERNAME", "CHARTSHIP_REGISTRY_PASSWORD", "CHARTSHIP_USERNAME", "CHARTSHIP_PASSWORD",
		"CHARTSHIP_RETRIES", "CHARTSHIP_PLAIN_HTTP", "AZURE_TENANT_ID", "AZURE_AUTHORITY_HOST", "CHARTSHIP_AZURE_AUTH", "CHARTSHIP_FORCE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func TestOCIFlagsDefaults(t *testing.T) {
	ociClearEnv(t)
	o, err := ociParse(t)
	require.NoError(t, err)
	assert.Equal(t, oci.DefaultOptions(), o, "the flags' defaults are the library's")
}

func TestOCIFlagsAll(t *testing.T) {
	ociClearEnv(t)
	o, err := ociParse(t, "--insecure-skip-tls-verify", "--ca-file", "/ca.pem", "--username", "u", "--password", "p",
		"--retries", "0", "--registry-timeout", "30s", "--force", "--azure-auth", "workload-identity",
		"--azure-token", "tok", "--azure-tenant-id", "ten", "--azure-client-id", "cid", "--azure-authority-host", "https://login.example/")
	require.NoError(t, err)
	want := oci.DefaultOptions()
	want.InsecureSkipTLSVerify, want.CAFile, want.Username, want.Password = true, "/ca.pem", "u", "p"
	want.Retries, want.Timeout, want.Force = 0, 30*time.Second, true
	want.ACR = oci.ACROptions{Auth: "workload-identity", Token: "tok", TenantID: "ten", ClientID: "cid", AuthorityHost: "https://login.example/"}
	assert.Equal(t, want, o, "--retries 0 is the library's 0: never retry")
}

func TestOCIFlagsEnvironment(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("CHARTSHIP_REGISTRY_USERNAME", "env-user")
	t.Setenv("CHARTSHIP_REGISTRY_PASSWORD", "env-pass")
	t.Setenv("CHARTSHIP_PLAIN_HTTP", "true")
	t.Setenv("CHARTSHIP_RETRIES", "2")
	t.Setenv("AZURE_TENANT_ID", "env-tenant")
	o, err := ociParse(t)
	require.NoError(t, err)
	assert.Equal(t, "env-user", o.Username)
	assert.Equal(t, "env-pass", o.Password)
	assert.True(t, o.PlainHTTP)
	assert.Equal(t, 2, o.Retries)
	assert.Equal(t, "env-tenant", o.ACR.TenantID)
}

func TestOCIFlagsBadInput(t *testing.T) {
	ociClearEnv(t)
	for _, args := range [][]string{
		{"--retries", "-1"},
		{"--registry-timeout", "0s"},
		{"--azure-auth", "magic"},
		{"--username", "only-user"},
		{"--plain-http", "--ca-file", "x.pem"},
	} {
		_, err := ociParse(t, args...)
		require.Error(t, err, args)
		assert.ErrorIs(t, err, errdef.ErrUsage, args)
		assert.Equal(t, exitUsage, exitCode(err), args)
	}
}

// TestOCIFlagsPublish drives a real publish through the flags: credentials
// from the environment, the registry's CA from --ca-file.
func TestOCIFlagsPublish(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", t.TempDir()+"/config.json")
	reg := registrytest.New(t, registrytest.WithHtpasswd("flag-user", "flag-pass"))
	dir := t.TempDir()
	path, err := chartutil.Save(&helmchart.Chart{Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "flagged", Version: "0.3.0"}}, dir)
	require.NoError(t, err)
	pkg, err := chart.Open(path)
	require.NoError(t, err)

	publish := func() (catalog.Result, error) {
		var res catalog.Result
		cmd := ociTestCommand(func(ctx context.Context, cmd *cli.Command) error {
			o, err := ociOptions(cmd)
			if err != nil {
				return err
			}
			cat, err := catalog.Open(reg.Ref("team"), catalog.Options{OCI: o})
			if err != nil {
				return err
			}
			res, err = cat.Publish(ctx, pkg)
			return err
		})
		err := cmd.Run(context.Background(), []string{"oci-test", "--ca-file", reg.CAFile})
		return res, err
	}

	_, err = publish()
	require.Error(t, err, "no credentials yet")
	assert.Equal(t, exitExternal, exitCode(err))

	t.Setenv("CHARTSHIP_REGISTRY_USERNAME", "flag-user")
	t.Setenv("CHARTSHIP_REGISTRY_PASSWORD", "flag-pass")
	res, err := publish()
	require.NoError(t, err)
	assert.Equal(t, catalog.Published, res.Status)
	res, err = publish()
	require.NoError(t, err)
	assert.Equal(t, catalog.AlreadyPublished, res.Status)

	// different bytes under the same version: a failed check, exit 2
	path, err = chartutil.Save(&helmchart.Chart{Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "flagged", Version: "0.3.0", Description: "changed"}}, t.TempDir())
	require.NoError(t, err)
	pkg, err = chart.Open(path)
	require.NoError(t, err)
	_, err = publish()
	require.ErrorIs(t, err, catalog.ErrConflict)
	assert.Equal(t, exitCheck, exitCode(err))
}
