package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/testcluster"
)

// TestUpgradeTestFromFleet: `upgrade-test --from fleet --fleet-repo` reads a
// fleet served by git http-backend, upgrades from the version its clusters
// run (1.0.0 in the OCI registry) and names the clusters proven.
func TestUpgradeTestFromFleet(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	reg := registrytest.New(t)
	publishTestdata(t, reg, "hello-1.0.0")

	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "acme/fleet.git")
	gittest.Seed(t, srv.Dir("acme/fleet.git"), map[string]string{
		"clusters/prod/hello.yaml":    "apiVersion: application.giantswarm.io/v1alpha1\nkind: App\nmetadata: {name: hello}\nspec: {name: hello, catalog: c, version: 1.0.0}\n",
		"clusters/staging/hello.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: hello}\nspec:\n  url: " + reg.Ref("charts") + "/hello\n  ref: {semver: \"*\"}\n",
	}, "fleet")

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--cluster", "kubeconfig", "--kubeconfig", kc, "--catalog", reg.Ref("charts"), "--plain-http", "--skip-tests",
		"--from", "fleet", "--fleet-repo", "git+" + url}, &stdout, &stderr)
	require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "upgrade test PASSED: hello 1.1.0 from 1.0.0")
	assert.Contains(t, stdout.String(), "fleet: 2 cluster(s) proven")
	assert.Contains(t, stdout.String(), ": clusters/prod")
	assert.Contains(t, stdout.String(), ": clusters/staging")

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"chartship", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--cluster", "kubeconfig", "--kubeconfig", kc, "--catalog", reg.Ref("charts"), "--plain-http", "--from", "fleet"}, &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "--fleet-repo")
}
