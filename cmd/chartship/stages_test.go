package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/registrytest"
)

// TestBumpStagePlanAndNotify: the versions come from the in-process registry
// (an RC published there); `bump --dry-run` prints the stage plan by cluster
// and its JSON; `notify --plan` calls only a Receiver whose stage moves.
func TestBumpStagePlanAndNotify(t *testing.T) {
	reg := registrytest.New(t)
	cat, err := catalog.Open("oci://"+reg.Host+"/charts", catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	for _, v := range []string{"1.1.0", "1.2.0-rc.0", "1.2.0-rc.1", "1.2.1-r7b5b4fa7t20260112120959h1a2b3c4"} {
		_, err = cat.Publish(context.Background(), charttest.Package(t, t.TempDir(), "hello", v))
		require.NoError(t, err)
	}
	// The release-stages fleet of the gitops golden case, without its broken
	// files, pointing at the registry.
	fleet := t.TempDir()
	for rel, b := range goldenOriginal(t, "release-stages") {
		if strings.Contains(rel, "broken") {
			continue
		}
		dst := filepath.Join(fleet, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, []byte(strings.ReplaceAll(b, "gsoci.azurecr.io/charts/giantswarm", reg.Host+"/charts")), 0o644))
	}

	args := []string{"bump", "--chart", "hello", "--version", "1.2.0-rc.1", "--registry", "oci://" + reg.Host + "/charts", "--plain-http", "--repo", fleet, "--dry-run"}
	code, stdout, stderr := runCLI(t, args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "stages: 1 of 7 get hello 1.2.0-rc.1")
	assert.Contains(t, stdout, "    clusters/testing-mc/\n      GETS  hello.yaml:8 OCIRepository flux-system/hello [semver >=0.0.0-0, semverFilter .*-rc\\..*]: 1.2.0-rc.0 → 1.2.0-rc.1: gets 1.2.0-rc.1 (was 1.2.0-rc.0)")
	assert.Contains(t, stdout, "    clusters/stable-mc/\n      stays hello.yaml:10 OCIRepository flux-system/hello [semver *]: 1.1.0 → 1.1.0: semver * admits no pre-release")
	assert.Contains(t, stdout, "does not match 1.2.0-rc.1")

	code, stdout, stderr = runCLI(t, append(args, "-o", "json")...)
	require.Equal(t, 0, code, stderr)
	planFile := filepath.Join(t.TempDir(), "plan.json")
	require.NoError(t, os.WriteFile(planFile, []byte(stdout), 0o644))
	var out struct {
		Repos []struct {
			Plan struct {
				Stages []struct {
					Cluster string `json:"cluster"`
					Moves   bool   `json:"moves"`
					After   string `json:"after"`
				} `json:"stages"`
			} `json:"plan"`
		} `json:"repos"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	require.Len(t, out.Repos, 1)
	var moving []string
	for _, st := range out.Repos[0].Plan.Stages {
		if st.Moves {
			moving = append(moving, st.Cluster+"="+st.After)
		}
	}
	assert.Equal(t, []string{"clusters/testing-mc=1.2.0-rc.1"}, moving)

	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	notify := func(name string) (int, string, string) {
		return runCLI(t, "notify", "--receiver", srv.URL+"/hook/0123456789abcdef", "--type", "generic", "--plan", planFile, "--receiver-name", name)
	}
	code, stdout, stderr = notify("flux-system/stable-charts")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "not notified: Receiver flux-system/stable-charts: no stage it reconciles moves")
	assert.Equal(t, int32(0), calls.Load())
	code, stdout, stderr = notify("flux-system/testing-hello")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "notified generic Receiver")
	assert.Equal(t, int32(1), calls.Load())

	code, _, stderr = runCLI(t, "notify", "--receiver", srv.URL+"/hook/0123456789abcdef", "--type", "generic", "--receiver-name", "x/y")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--plan and --receiver-name go together")
}
