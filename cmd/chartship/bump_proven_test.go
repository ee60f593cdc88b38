package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/sign"
)

// TestBumpRequireUpgradeTest: with --require-upgrade-test a reference moves only to a
// version whose signed attestation proves the upgrade from the version it has now: 1.0.0
// goes to 1.1.0 (attested from 1.0.0), not to 1.2.0 (attested from 1.1.0 only); 1.1.0
// goes to 1.2.0; an attestation by another key proves nothing.
func TestBumpRequireUpgradeTest(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", filepath.Join(t.TempDir(), "config.json"))
	ctx := context.Background()
	reg := registrytest.New(t)
	cat, err := oci.Open(reg.Ref("charts"), oci.Options{PlainHTTP: true})
	require.NoError(t, err)
	key, pub := signtest.KeyPair(t, t.TempDir(), "pw")
	_, otherPub := signtest.KeyPair(t, t.TempDir(), "x")
	s, err := sign.New(sign.Options{Key: key, Password: "pw"})
	require.NoError(t, err)
	for _, v := range []struct{ version, from string }{{"1.0.0", ""}, {"1.1.0", "1.0.0"}, {"1.2.0", "1.1.0"}} {
		_, err := cat.Publish(ctx, charttest.Package(t, t.TempDir(), "hello", v.version))
		require.NoError(t, err)
		if v.from == "" {
			continue
		}
		p, err := sign.UpgradeTestPredicate{Chart: "hello", Version: v.version, From: []string{v.from}, Passed: true,
			Scenarios: []sign.UpgradeTestScenario{{Name: "default", Kind: "upgrade", From: v.from, To: v.version, Passed: true}}}.Predicate()
		require.NoError(t, err)
		_, err = s.Sign(ctx, cat, "hello", v.version, p)
		require.NoError(t, err)
	}
	repo := t.TempDir()
	gittest.Git(t, repo, "init", "-q", "-b", "main")
	hr := func(name, version string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: " + name + ", namespace: apps}\nspec:\n  chart:\n    spec: {chart: hello, version: " + version + ", sourceRef: {kind: HelmRepository, name: cat}}\n"
	}
	require.NoError(t, os.WriteFile(filepath.Join(repo, "hr.yaml"), []byte(hr("old", "1.0.0")+"---\n"+hr("mid", "1.1.0")), 0o644))

	bump := func(keyFile string) map[string]string {
		code, stdout, stderr := runCLI(t, "--output", "json", "bump", "--chart", "hello", "--version", "1.2.0", "--repo", repo,
			"--registry", reg.Ref("charts"), "--plain-http", "--policy", "latest", "--require-upgrade-test", "--cosign-key", keyFile, "--dry-run")
		require.Equal(t, 0, code, stderr)
		var out struct {
			Repos []struct {
				Plan struct {
					Changes []struct{ Object, Old, New string }
				}
			}
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
		got := map[string]string{}
		for _, c := range out.Repos[0].Plan.Changes {
			got[c.Old] = c.New
		}
		return got
	}
	assert.Equal(t, map[string]string{"1.0.0": "1.1.0", "1.1.0": "1.2.0"}, bump(pub))
	assert.Empty(t, bump(otherPub), "another key's attestations prove nothing")

	code, _, stderr := runCLI(t, "bump", "--chart", "hello", "--version", "1.2.0", "--repo", repo, "--require-upgrade-test", "--cosign-key", pub, "--dry-run")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "give --registry oci://HOST/NAMESPACE")
}
