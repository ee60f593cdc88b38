// Package testcluster gives tests the Kubernetes cluster `make test` starts
// (scripts/testcluster), or any cluster CHARTSHIP_TEST_KUBECONFIG points at.
package testcluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// EnvKindNodeImage names the variable holding the kind node image `make test` prepares
// (scripts/kind-env up DIR); DOCKER_HOST names the engine it is in.
const EnvKindNodeImage = "CHARTSHIP_KIND_NODE_IMAGE"

// KindNodeImage returns the kind node image for the real-pod tests. Without one the test is
// skipped, except in CI, where `make test` always prepares it.
func KindNodeImage(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no real-pod tests")
	}
	img := os.Getenv(EnvKindNodeImage)
	if img == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(EnvKindNodeImage + " is not set; `make test` prepares an engine and a node image (scripts/kind-env up DIR)")
		}
		t.Skip("no kind node image: set " + EnvKindNodeImage + " (and DOCKER_HOST) or run make test")
	}
	return img
}

// BuildBusyboxImage imports a root file system holding Debian's static busybox (and links
// for the applets the test charts use) into the container engine as image name: the app
// image of the real-pod tests, side-loaded into kind, never pulled.
func BuildBusyboxImage(name string) error {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		if _, statErr := os.Stat("/bin/busybox"); statErr != nil {
			return fmt.Errorf("the test app image needs Debian's busybox-static (apt-get install busybox-static): %w", err)
		}
		busybox = "/bin/busybox"
	}
	dir, err := os.MkdirTemp("", "chartship-busybox-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"bin", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "echo", "cat", "mkdir", "httpd", "wget", "sleep", "ls", "grep", "rm", "awk", "nslookup", "nc", "printf"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root:x:0:0:root:/:/bin/sh\n"), 0o644); err != nil {
		return err
	}
	tar := exec.Command("tar", "--numeric-owner", "-C", dir, "-c", ".")
	imp := exec.Command("docker", "import", "--change", "ENV PATH=/bin", "-", name)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	var out bytes.Buffer
	imp.Stdout, imp.Stderr = &out, &out
	if err := tar.Start(); err != nil {
		return err
	}
	if err := imp.Run(); err != nil {
		return fmt.Errorf("docker import %s: %w: %s", name, err, out.String())
	}
	return tar.Wait()
}

// KindClusters lists the kind clusters of the container engine (DOCKER_HOST), by their node
// containers' label, running or not.
func KindClusters(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--format", `{{.Label "io.x-k8s.kind.cluster"}}`).Output()
	if err != nil {
		t.Fatalf("listing kind clusters with docker ps: %v", err)
	}
	return strings.Fields(string(out))
}
