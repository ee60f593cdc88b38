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
	"helm.sh/helm/v3/pkg/repo"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/gitrepo"
	"github.com/chartship/chartship/internal/gittest"
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
