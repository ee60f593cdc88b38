package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/githubtest"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/internal/testcluster"
)

// secretStep is one command run by the secret tests below, in JSON and text,
// with debug logs on.
type secretStep struct {
	name string
	env  map[string]string // set for this step only; the credential variables are cleared first
	args []string
	code int // the exit code of the JSON run (-1: don't check)
	// fault, when set, is injected into proxy for this step only
	fault *faultproxy.Rule
	proxy *faultproxy.Proxy
}

// credentialEnv is every variable a secret step may set.
var credentialEnv = []string{"CHARTSHIP_REGISTRY_USERNAME", "CHARTSHIP_REGISTRY_PASSWORD", "CHARTSHIP_GIT_TOKEN", "GITHUB_TOKEN", "COSIGN_PASSWORD"}

// runSecretSteps runs steps and fails if any secret is on stdout or stderr,
// or if a JSON run's stdout is not one JSON document; it returns everything
// printed.
func runSecretSteps(t *testing.T, steps []secretStep, secrets []string) string {
	t.Helper()
	var seen bytes.Buffer
	for _, s := range steps {
		for _, output := range []string{"json", "text"} {
			for _, k := range credentialEnv {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range s.env {
				t.Setenv(k, v)
			}
			if s.fault != nil {
				s.proxy.Inject(*s.fault)
			}
			var out, errOut bytes.Buffer
			args := append([]string{"chartship", "--output", output, "--verbose", "--log-format", "plain"}, s.args...)
			code := run(context.Background(), args, &out, &errOut)
			if s.fault != nil {
				s.proxy.Inject()
			}
			if output == "json" && s.code >= 0 {
				assert.Equal(t, s.code, code, "%s (%s): %s", s.name, output, errOut.String())
			}
			if output == "json" {
				assert.True(t, json.Valid(out.Bytes()), "%s: stdout is one JSON document: %s", s.name, out.String())
			}
			for _, sec := range secrets {
				assert.NotContains(t, out.String(), sec, "%s (%s): a secret on stdout", s.name, output)
				assert.NotContains(t, errOut.String(), sec, "%s (%s): a secret on stderr", s.name, output)
			}
			seen.Write(out.Bytes())
			seen.Write(errOut.Bytes())
		}
	}
	return seen.String()
}

// envWith is env with k set to v, env unchanged.
func envWith(env map[string]string, k, v string) map[string]string {
	m := maps.Clone(env)
	m[k] = v
	return m
}

// pemBody is the base64 body of a PEM file, without its armour lines, joined.
func pemBody(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			lines = append(lines, l)
		}
	}
	require.NotEmpty(t, lines)
	return lines
}

// assertNoSecretStored fails if a secret is in the git catalog's whole
// history (bare) or in what reg stores in charts/hello; it returns both.
func assertNoSecretStored(t *testing.T, bare string, reg *registrytest.Registry, secrets []string) (history, stored string) {
	t.Helper()
	history = gittest.Git(t, bare, "log", "-p", "--all", "--format=%an %ae %s %b")
	stored = registryEverything(t, reg, "charts/hello")
	for _, sec := range secrets {
		assert.NotContains(t, history, sec, "a secret in the git catalog's history")
		assert.NotContains(t, stored, sec, "a secret in the registry")
	}
	return history, stored
}

// registryEverything is every manifest, index, config and layer blob the
// registry holds in repos, referrers included (signature bundles).
func registryEverything(t *testing.T, reg *registrytest.Registry, repos ...string) string {
	t.Helper()
	get := func(path, accept string) []byte {
		req, err := http.NewRequest(http.MethodGet, reg.URL+path, nil)
		require.NoError(t, err)
		req.SetBasicAuth(reg.Username, reg.Password)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := reg.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		require.NoError(t, err)
		return b.Bytes()
	}
	const accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json"
	var all bytes.Buffer
	seen := map[string]bool{}
	type manifest struct {
		Config    struct{ Digest string }
		Layers    []struct{ Digest string }
		Manifests []struct{ Digest string }
	}
	var walk func(repo, ref string)
	walk = func(repo, ref string) {
		if seen[repo+"@"+ref] {
			return
		}
		seen[repo+"@"+ref] = true
		b := get("/v2/"+repo+"/manifests/"+ref, accept)
		all.Write(b)
		var m manifest
		if json.Unmarshal(b, &m) != nil {
			return
		}
		if m.Config.Digest != "" {
			all.Write(get("/v2/"+repo+"/blobs/"+m.Config.Digest, ""))
		}
		for _, l := range m.Layers {
			all.Write(get("/v2/"+repo+"/blobs/"+l.Digest, ""))
		}
		for _, c := range m.Manifests {
			walk(repo, c.Digest)
		}
		if strings.HasPrefix(ref, "sha256:") {
			var idx manifest
			if json.Unmarshal(get("/v2/"+repo+"/referrers/"+ref, ""), &idx) == nil {
				for _, c := range idx.Manifests {
					walk(repo, c.Digest)
				}
			}
		}
	}
	for _, repo := range repos {
		var tags struct{ Tags []string }
		require.NoError(t, json.Unmarshal(get("/v2/"+repo+"/tags/list", ""), &tags))
		require.NotEmpty(t, tags.Tags, repo)
		for _, tag := range tags.Tags {
			walk(repo, tag)
			req, err := http.NewRequest(http.MethodHead, reg.URL+"/v2/"+repo+"/manifests/"+tag, nil)
			require.NoError(t, err)
			req.SetBasicAuth(reg.Username, reg.Password)
			req.Header.Set("Accept", accept)
			resp, err := reg.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
				walk(repo, d)
			}
		}
	}
	return all.String()
}

// TestNoSecretLeaksCosign: publish --cosign-key with COSIGN_PASSWORD and the
// registry password set — success, a wrong password, a missing key — and
// verify with the public key and another one; neither the password nor the
// private key's PEM body may appear in any output, the git catalog's history
// or anything the registry stores (the signatures included).
func TestNoSecretLeaksCosign(t *testing.T) {
	if testing.Short() {
		t.Skip("runs many commands")
	}
	const (
		regPass    = "reg-S3cr3t-c051"
		gitToken   = "git-T0k3n-c052"
		cosignPass = "cosign-P4ss-c053"
		wrongPass  = "wrong-P4ss-c054"
	)
	isolateClientConfig(t)
	key, pub := signtest.KeyPair(t, t.TempDir(), cosignPass)
	_, otherPub := signtest.KeyPair(t, t.TempDir(), "other-pw")
	secrets := append([]string{regPass, gitToken, cosignPass, wrongPass}, pemBody(t, key)...)

	reg := registrytest.New(t, registrytest.WithHtpasswd("ci", regPass))
	srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", gitToken))
	bare := seedCatalogRepo(t, srv)
	pkg := packageHello(t, "1.0.0", "")
	unsigned := packageHello(t, "1.1.0", "")
	ociTo := []string{"--to", reg.Ref("charts"), "--ca-file", reg.CAFile}
	gitTo := []string{"--to", "git+" + srv.URL + "/catalog.git", "--index-url", "https://example.github.io/catalog/"}
	ref := reg.Ref("charts") + "/hello"

	creds := map[string]string{"CHARTSHIP_REGISTRY_USERNAME": "ci", "CHARTSHIP_REGISTRY_PASSWORD": regPass, "CHARTSHIP_GIT_TOKEN": gitToken, "COSIGN_PASSWORD": cosignPass}
	publish := func(p string, extra ...string) []string {
		return append(append(append([]string{"publish", p}, ociTo...), gitTo...), extra...)
	}
	steps := []secretStep{
		{name: "wrong cosign password", env: envWith(creds, "COSIGN_PASSWORD", wrongPass), args: publish(pkg, "--cosign-key", key), code: exitUsage},
		{name: "missing cosign key", env: creds, args: publish(pkg, "--cosign-key", filepath.Join(t.TempDir(), "nope.key")), code: exitUsage},
		{name: "signed publish", env: creds, args: publish(pkg, "--cosign-key", key), code: -1},
		{name: "signed publish again", env: creds, args: publish(pkg, "--cosign-key", key), code: exitOK},
		{name: "unsigned publish", env: creds, args: append([]string{"publish", unsigned}, ociTo...), code: exitOK},
		{name: "verify", env: creds, args: []string{"verify", ref + ":1.0.0", "--ca-file", reg.CAFile, "--cosign-key", pub}, code: exitOK},
		{name: "verify with another key", env: creds, args: []string{"verify", ref + ":1.0.0", "--ca-file", reg.CAFile, "--cosign-key", otherPub}, code: exitCheck},
		{name: "verify an unsigned version", env: creds, args: []string{"verify", ref + ":1.1.0", "--ca-file", reg.CAFile, "--cosign-key", pub}, code: exitCheck},
		{name: "verify with a refused password", env: envWith(creds, "CHARTSHIP_REGISTRY_PASSWORD", wrongPass), args: []string{"verify", ref + ":1.0.0", "--ca-file", reg.CAFile, "--cosign-key", pub, "--retries", "1"}, code: exitExternal},
	}
	seen := runSecretSteps(t, steps, secrets)
	assert.Contains(t, seen, "COSIGN_PASSWORD", "the wrong-password path ran")

	history, stored := assertNoSecretStored(t, bare, reg, secrets)
	assert.Contains(t, history, "hello-1.0.0.tgz", "the catalog was written")
	assert.Contains(t, stored, "dev.sigstore", "the signature is in the registry")
}

// TestNoSecretLeaksUpgradeTestReports: upgrade-test --junit --result with the
// registry password (the from-catalog) and a git token set, through a pass, a
// failing upgrade and refused credentials: no secret in any output nor in the
// JUnit and result files.
func TestNoSecretLeaksUpgradeTestReports(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	const (
		regPass   = "reg-S3cr3t-u071"
		gitToken  = "git-T0k3n-u072"
		wrongPass = "wrong-P4ss-u073"
	)
	secrets := []string{regPass, gitToken, wrongPass}
	isolateClientConfig(t)

	reg := registrytest.New(t, registrytest.WithHtpasswd("ci", regPass))
	creds := map[string]string{"CHARTSHIP_REGISTRY_USERNAME": "ci", "CHARTSHIP_REGISTRY_PASSWORD": regPass, "CHARTSHIP_GIT_TOKEN": gitToken, "GITHUB_TOKEN": gitToken}
	tgz := packageTestdata(t, "hello-1.0.0")
	code, _, errOut := runCLI(t, "publish", tgz, "--to", reg.Ref("charts"), "--ca-file", reg.CAFile, "--username", "ci", "--password", regPass)
	require.Equal(t, exitOK, code, errOut)
	wrong := envWith(creds, "CHARTSHIP_REGISTRY_PASSWORD", wrongPass)

	dir := t.TempDir()
	var files []string
	reports := func(name string) []string {
		junit, result := filepath.Join(dir, name+".xml"), filepath.Join(dir, name+".json")
		files = append(files, junit, result)
		return []string{"--junit", junit, "--result", result}
	}
	base := func(to string) []string {
		return []string{"upgrade-test", upgradeTestdata(to), "--cluster", "kubeconfig", "--kubeconfig", kc,
			"--from-catalog", reg.Ref("charts"), "--ca-file", reg.CAFile, "--skip-tests", "--retries", "1"}
	}
	steps := []secretStep{
		{name: "passes", env: creds, args: append(base("hello-1.1.0"), reports("pass")...), code: exitOK},
		{name: "fails (immutable field)", env: creds, args: append(base("hello-1.2.0-selector"), reports("fail")...), code: exitCheck},
		{name: "registry refuses the password", env: wrong, args: append(base("hello-1.1.0"), reports("refused")...), code: exitExternal},
	}
	seen := runSecretSteps(t, steps, secrets)
	assert.Contains(t, seen, "upgrade test FAILED", "the failing scenario ran")

	var written int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		written++
		for _, sec := range secrets {
			assert.NotContains(t, string(b), sec, "a secret in %s", filepath.Base(f))
		}
	}
	assert.GreaterOrEqual(t, written, 3, "the reports were written")
	assert.FileExists(t, filepath.Join(dir, "pass.xml"))
	assert.FileExists(t, filepath.Join(dir, "fail.xml"))
	assert.FileExists(t, filepath.Join(dir, "fail.json"))
}

// TestNoSecretLeaksBumpPushFailure: bump with a git token whose push is
// refused (403 on receive-pack), whose token git refuses, and whose pull
// request the GitHub API refuses (401, 422): no token in any output nor in
// the repository's history.
func TestNoSecretLeaksBumpPushFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs many commands")
	}
	const (
		gitToken   = "ghs-T0k3n-b081"
		wrongToken = "ghs-Wr0ng-b082"
	)
	secrets := []string{gitToken, wrongToken}
	isolateGitConfig(t)
	srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", gitToken))
	url := seedGolden(t, srv, "acme/fleet.git", "app-marker")
	gh := githubtest.New(t, srv.Root, gitToken)
	proxy := faultproxy.New(t, srv.URL)
	viaProxy := "git+" + proxy.URL + strings.TrimPrefix(url, srv.URL)
	bump := func(repo string, extra ...string) []string {
		return append([]string{"bump", "--chart", "hello-world", "--version", "1.3.0", "--repo", repo, "--github-api", gh.URL}, extra...)
	}
	creds := map[string]string{"CHARTSHIP_GIT_TOKEN": gitToken, "GITHUB_TOKEN": gitToken}
	wrong := map[string]string{"CHARTSHIP_GIT_TOKEN": wrongToken, "GITHUB_TOKEN": wrongToken}
	apiWrong := map[string]string{"CHARTSHIP_GIT_TOKEN": gitToken, "GITHUB_TOKEN": wrongToken}

	proxy.Inject(faultproxy.Rule{Method: http.MethodPost, Path: "/git-receive-pack", Class: faultproxy.Status403, Times: -1})
	seen := runSecretSteps(t, []secretStep{
		{name: "push refused (403)", env: creds, args: bump(viaProxy, "--push-to", "main"), code: exitExternal},
		{name: "pull request branch push refused (403)", env: creds, args: bump(viaProxy, "--pr"), code: exitExternal},
	}, secrets)
	proxy.Inject()
	seen += runSecretSteps(t, []secretStep{
		{name: "git refuses the token", env: wrong, args: bump("git+"+url, "--push-to", "main"), code: exitExternal},
		{name: "token in the URL", args: bump("git+"+strings.Replace(url, "://", "://x-access-token:"+wrongToken+"@", 1), "--push-to", "main"), code: exitExternal},
		{name: "GitHub refuses the token (401)", env: apiWrong, args: bump("git+"+url, "--pr"), code: exitExternal},
		{name: "pull request opened", env: creds, args: bump("git+"+url, "--pr"), code: -1},
		{name: "GitHub refuses the pull request (422)", env: creds, args: bump("git+"+url, "--pr", "--github-repo", "acme/fleet", "--bump-branch", "main"), code: exitExternal},
	}, secrets)
	for _, want := range []string{"HTTP 403", "401 Bad credentials", "422 Validation Failed", "x-access-token:***@"} {
		assert.Contains(t, seen, want, "the failure paths ran")
	}
	history := gittest.Git(t, srv.Dir("acme/fleet.git"), "log", "-p", "--all", "--format=%an %ae %s %b")
	for _, sec := range secrets {
		assert.NotContains(t, history, sec, "a secret in the GitOps repository's history")
	}
	assert.Len(t, gh.Pulls("acme", "fleet"), 1, "the pull request path ran")
}
