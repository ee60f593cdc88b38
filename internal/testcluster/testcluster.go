// Package testcluster gives tests the Kubernetes cluster `make test` starts
// (scripts/testcluster), or any cluster CHARTSHIP_TEST_KUBECONFIG points at.
package testcluster

import (
	"os"
	"testing"
)

// EnvKubeconfig names the variable holding the test cluster's kubeconfig path.
const EnvKubeconfig = "CHARTSHIP_TEST_KUBECONFIG"

// Kubeconfig returns the test cluster's kubeconfig path. Without one the test is
// skipped, except in CI (CI=true), where `make test` always starts the cluster and
// its absence is a failure — unless the run is -short (make test-short), which
// runs only what needs no cluster, in CI too.
func Kubeconfig(t testing.TB) string {
	t.Helper()
	kc := os.Getenv(EnvKubeconfig)
	if kc == "" {
		if testing.Short() {
			t.Skip("-short: needs the test cluster (" + EnvKubeconfig + "); make test runs it")
		}
		if os.Getenv("CI") == "true" {
			t.Fatal(EnvKubeconfig + " is not set; `make test` starts the local test cluster (scripts/testcluster up DIR)")
		}
		t.Skip("no test cluster: set " + EnvKubeconfig + " or run make test")
	}
	return kc
}
