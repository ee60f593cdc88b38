package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/fluxtest"
	"github.com/chartship/chartship/internal/githubtest"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"chartship"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func seedGolden(t *testing.T, srv *gittest.Server, name, golden string) string {
	t.Helper()
	url := srv.NewRepo(t, name)
	gittest.Seed(t, srv.Dir(name), goldenOriginal(t, golden), "seed")
	return url
}

// goldenOriginal is the original tree of the gitops golden case golden: each
// file's contents by its slash-separated path.
func goldenOriginal(t *testing.T, golden string) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join("..", "..", "testdata", "gitops", golden, "original")
	require.NoError(t, filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return files
}

func TestBumpCommandSeveralReposWithPullRequests(t *testing.T) {
	srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", "ghs_token"))
	a := seedGolden(t, srv, "acme/fleet-a.git", "app-marker")
	b := seedGolden(t, srv, "acme/fleet-b.git", "kustomize-patch")
	gh := githubtest.New(t, srv.Root, "ghs_token")
	list := filepath.Join(t.TempDir(), "repos.txt")
	require.NoError(t, os.WriteFile(list, []byte("# fleet\n"+"git+"+b+"\n"), 0o644))
	t.Setenv("GITHUB_TOKEN", "ghs_token")

	code, stdout, stderr := runCLI(t, "--output", "json", "bump", "--chart", "hello-world", "--version", "1.3.0",
		"--available", "1.2.7,1.2.10", "--repo", "git+"+a, "--repo-list", list, "--pr", "--github-api", gh.URL)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stdout+stderr, "ghs_token")
	var out struct {
		Repos []struct {
			Status      string
			PullRequest struct{ Number int }
			Plan        struct {
				Changes []struct{ File, Old, New string }
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	require.Len(t, out.Repos, 2)
	assert.Equal(t, "pull request opened", out.Repos[0].Status)
	assert.Equal(t, "pull request opened", out.Repos[1].Status)
	assert.Len(t, out.Repos[1].Plan.Changes, 3, "the inline JSON6902 and strategic-merge patches and the patch file")
	assert.Len(t, gh.Pulls("acme", "fleet-a"), 1)
	assert.Len(t, gh.Pulls("acme", "fleet-b"), 1)
	assert.Contains(t, gittest.Git(t, srv.Dir("acme/fleet-b.git"), "show", "chartship/bump-hello-world-1.3.0:overlays/prod/kustomization.yaml"),
		`value: 1.2.10 # {"$imagepolicy": "default:hello-world:tag"}`)
}

func TestBumpCommandExitCodes(t *testing.T) {
	srv := gittest.NewServer(t, gittest.WithBasicAuth("bot", "right"))
	bad := seedGolden(t, srv, "acme/bad.git", "bad-input")

	code, stdout, _ := runCLI(t, "bump", "--chart", "hello-world", "--version", "1.3.0", "--repo", bad, "--git-username", "bot", "--git-token", "right", "--dry-run")
	assert.Equal(t, exitUsage, code, "bad input in the repository")
	assert.Contains(t, stdout, "broken.yaml:4: not valid YAML")
	assert.Contains(t, stdout, "good.yaml:4  1.2.0 → 1.3.0")

	code, _, stderr := runCLI(t, "bump", "--chart", "hello-world", "--version", "1.3.0", "--repo", bad, "--git-username", "bot", "--git-token", "wrong-token-xyz", "--dry-run")
	assert.Equal(t, exitExternal, code)
	assert.NotContains(t, stderr, "wrong-token-xyz")

	code, _, _ = runCLI(t, "bump", "--chart", "hello-world", "--version", "not-a-version", "--repo", bad)
	assert.Equal(t, exitUsage, code)
	code, _, _ = runCLI(t, "bump", "--chart", "hello-world", "--version", "1.3.0", "--repo", bad, "--policy", "sometimes")
	assert.Equal(t, exitUsage, code)
}

func TestNotifyCommand(t *testing.T) {
	var body []byte
	receiver := fluxtest.Receiver(t, "hook-token", &body)
	payload := filepath.Join(t.TempDir(), "p.json")
	require.NoError(t, os.WriteFile(payload, []byte(`{"chart":"hello-world"}`), 0o644))

	code, stdout, stderr := runCLI(t, "notify", "--receiver", receiver+"/hook/abcdef0123456789", "--token", "hook-token", "--payload", "@"+payload)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{"chart":"hello-world"}`, string(body))
	assert.Contains(t, stdout, "notified generic-hmac Receiver")
	assert.False(t, strings.Contains(stdout, "abcdef0123456789"))

	t.Setenv("CHARTSHIP_TOKEN", "not-the-token")
	code, _, stderr = runCLI(t, "notify", "--receiver", receiver+"/hook/abcdef0123456789")
	assert.Equal(t, exitExternal, code)
	assert.NotContains(t, stderr, "not-the-token")
}

// --registry lists the versions the OCI registry holds: the policy picks the
// highest one it allows, not merely --version.
func TestBumpCommandListsTheRegistry(t *testing.T) {
	reg := registrytest.New(t)
	cat, err := catalog.Open("oci://"+reg.Host+"/charts", catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	for _, v := range []string{"1.3.0", "1.4.0", "2.0.0"} {
		_, err = cat.Publish(context.Background(), charttest.Package(t, t.TempDir(), "hello-world", v))
		require.NoError(t, err)
	}
	dir := t.TempDir()
	fleet := strings.ReplaceAll(`apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: hello-world, namespace: flux-system}
spec:
  imageRepositoryRef: {name: hello-world}
  policy: {semver: {range: ">=1.0.0 <2.0.0"}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: hello-world, namespace: flux-system}
spec: {image: HOST/charts/hello-world}
---
apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata: {name: hello-world}
spec:
  name: hello-world
  version: 1.2.0 # {"$imagepolicy": "flux-system:hello-world:tag"}
`, "HOST", reg.Host)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(fleet), 0o644))

	code, stdout, stderr := runCLI(t, "bump", "--chart", "hello-world", "--version", "1.3.0", "--registry", "oci://"+reg.Host+"/charts",
		"--plain-http", "--repo", dir, "--dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "app.yaml:18  1.2.0 → 1.4.0")

	code, _, stderr = runCLI(t, "bump", "--chart", "nope", "--version", "1.3.0", "--registry", "oci://"+reg.Host+"/charts",
		"--plain-http", "--repo", dir, "--dry-run")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, "--available")
}
