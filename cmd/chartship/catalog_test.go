package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/gitrepo"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
)

func TestCatalogPrune(t *testing.T) {
	i := repo.NewIndexFile()
	for _, e := range []struct {
		v   string
		age time.Duration
	}{{"1.0.0", 100 * 24 * time.Hour}, {"1.1.0-dev.1", 100 * 24 * time.Hour}, {"1.1.0-dev.2", time.Hour}} {
		i.Entries["hello"] = append(i.Entries["hello"], &repo.ChartVersion{
			Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "hello", Version: e.v},
			URLs:     []string{"hello-" + e.v + ".tgz"}, Created: time.Now().Add(-e.age), Digest: strings.Repeat("a", 64),
		})
	}
	p := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, i.WriteFile(p, 0o644))
	idx, err := os.ReadFile(p)
	require.NoError(t, err)
	bare := filepath.Join(t.TempDir(), "catalog.git")
	gittest.InitBare(t, bare)
	gittest.Seed(t, bare, map[string]string{"index.yaml": string(idx), "hello-1.1.0-dev.1.tgz": "x", "hello-1.1.0-dev.1.tgz-meta/main.yaml": "x"}, "seed")
	before := gittest.Git(t, bare, "rev-parse", "main")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".chartship.yaml"), []byte("catalogs:\n  - name: test\n    git: git+file://"+bare+"\n    test: true\n  - name: release\n    git: git+file://"+bare+"\n"), 0o644))

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"chartship", "--output", "json", "catalog", "prune", "--to", "test", "--config-dir", dir, "--match", `-dev\.`, "--older-than", "720h", "--dry-run"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	var res catalog.PruneResult
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	require.Len(t, res.Removed, 1)
	assert.Equal(t, "1.1.0-dev.1", res.Removed[0].Version)
	assert.Equal(t, before, gittest.Git(t, bare, "rev-parse", "main"))

	out.Reset()
	code = run(context.Background(), []string{"chartship", "catalog", "prune", "--to", "release", "--config-dir", dir, "--match", `-dev\.`, "--older-than", "720h"}, &out, &errOut)
	assert.Equal(t, 1, code, "a release catalog is never pruned")

	code = run(context.Background(), []string{"chartship", "catalog", "prune", "--to", "test", "--config-dir", dir, "--match", `-dev\.`, "--older-than", "720h"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	assert.Contains(t, out.String(), "pruned hello 1.1.0-dev.1")
	tree := gittest.Git(t, bare, "ls-tree", "-r", "--name-only", "main")
	assert.NotContains(t, tree, "dev.1")
}

func TestGitOptionsFromFlagsAndEnv(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
	t.Setenv("GITHUB_TOKEN", "gh-token")
	t.Setenv("CHARTSHIP_GIT_TOKEN", "")
	t.Setenv("CHARTSHIP_SSH_KEY_BASE64", base64.StdEncoding.EncodeToString([]byte(key)))
	var got gitrepo.Options
	cmd := &cli.Command{Name: "x", Flags: gitFlags(), Action: func(_ context.Context, cmd *cli.Command) error {
		var err error
		got, err = gitOptions(cmd)
		return err
	}}
	require.NoError(t, cmd.Run(context.Background(), []string{"x", "--index-url", "https://charts.example.com/", "--catalog-branch", "gh-pages", "--retries", "3"}))
	assert.Equal(t, "https://charts.example.com/", got.IndexURL)
	assert.Equal(t, "gh-pages", got.Branch)
	assert.Equal(t, 3, got.Retries)
	assert.Equal(t, "gh-token", got.Token)
	assert.Equal(t, key, string(got.SSHKey))

	t.Setenv("CHARTSHIP_GIT_TOKEN", "chartship-token")
	t.Setenv("CHARTSHIP_SSH_KEY_BASE64", "")
	require.NoError(t, cmd.Run(context.Background(), []string{"x", "--retries", "0"}))
	assert.Equal(t, "chartship-token", got.Token, "CHARTSHIP_GIT_TOKEN wins over GITHUB_TOKEN")
	assert.Equal(t, 0, got.Retries, "--retries 0 means no retry, in the library too")
}

// TestCatalogPruneOCI: dev builds older than the age go from an OCI test
// namespace (dry run first); releases never, whatever --match says; days are accepted.
func TestCatalogPruneOCI(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := registrytest.New(t)
	ref := reg.Ref("test-charts")
	dir := t.TempDir()
	for _, v := range []string{"1.0.0", "1.0.1-dev.main.20261201000000.h1111111", "1.0.1-dev.main.20261201000100.h2222222"} {
		path, err := chartutil.Save(&helmchart.Chart{Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "hello", Version: v}}, dir)
		require.NoError(t, err)
		var stdout, stderr bytes.Buffer
		require.Equal(t, exitOK, run(context.Background(), []string{"chartship", "publish", path, "--to", ref, "--plain-http"}, &stdout, &stderr), stderr.String())
	}
	versions := func() []string {
		c, err := catalog.Open(ref, catalog.Options{OCI: oci.Options{PlainHTTP: true}})
		require.NoError(t, err)
		vs, err := c.Versions(context.Background(), "hello")
		require.NoError(t, err)
		return vs
	}
	prune := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"chartship", "catalog", "prune", "--to", ref, "--plain-http", "--match", "."}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, _, stderr := prune("--older-than", "30d")
	assert.Equal(t, exitUsage, code, "no --chart, and the registry lists nothing: never a silent 0")
	assert.Contains(t, stderr, "name the charts to prune with --chart")

	code, stdout, stderr := prune("--older-than", "30d", "--chart", "hello")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "pruned 0 versions")

	time.Sleep(1100 * time.Millisecond) // the versions' age passes 1s: not a timing assertion
	code, stdout, stderr = prune("--older-than", "1s", "--dry-run", "--chart", "hello")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "would prune 2 versions")
	assert.Len(t, versions(), 3, "a dry run changes nothing")

	code, stdout, stderr = prune("--older-than", "1s", "--chart", "hello")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "pruned hello 1.0.1-dev.main.20261201000000.h1111111")
	assert.Equal(t, []string{"1.0.0"}, versions(), "the release stays although --match . matches it")

	code, _, stderr = prune("--older-than", "soon")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "give a positive age such as 30d")
}
