// Package peertools gives tests the real third-party CLIs chartship must interoperate
// with — the Helm 4 CLI and cosign — built from the Go module proxy in throwaway modules
// by scripts/lib/tools.bash (never in chartship's go.mod) and cached under
// ~/.cache/chartship/bin/<name>-<version>/. `make test` builds them when missing and
// names them in CHARTSHIP_HELM4 and CHARTSHIP_COSIGN.
package peertools

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The versions scripts/lib/tools.bash builds.
const (
	Helm4Version  = "4.3.1"
	CosignVersion = "3.1.3"
)

// Variables naming the binaries.
const (
	EnvHelm4  = "CHARTSHIP_HELM4"
	EnvCosign = "CHARTSHIP_COSIGN"
)

// Helm4 returns the path of the Helm 4 CLI.
func Helm4(t testing.TB) string {
	t.Helper()
	return find(t, EnvHelm4, "helm", Helm4Version)
}

// Cosign returns the path of the cosign CLI.
func Cosign(t testing.TB) string {
	t.Helper()
	return find(t, EnvCosign, "cosign", CosignVersion)
}

// find returns the binary the variable names, else the cached build. Without one the
// test is skipped — in -short always, and failed in CI (CI=true), where `make test`
// builds it.
func find(t testing.TB, env, name, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: needs the %s %s CLI; make test builds it", name, version)
	}
	if p := os.Getenv(env); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	if p := cached(name, version); p != "" {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set and no cached %s %s; `make test` builds it (scripts/lib/tools.bash)", env, name, version)
	}
	t.Skipf("no %s %s CLI: set %s or run make test (scripts/bench %s builds it)", name, version, env, name)
	return ""
}

// cached is the path scripts/lib/tools.bash builds name into, if it is there.
func cached(name, version string) string {
	dir := os.Getenv("CHARTSHIP_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "chartship")
	}
	p := filepath.Join(dir, "bin", name+"-"+version, name)
	if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
		return p
	}
	return ""
}
