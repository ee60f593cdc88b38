package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
)

// TestNoSecretLeaks runs the commands that take credentials — publish (OCI
// and git), catalog prune, notify — with every secret set, through success
// and the failure paths (refused credentials, conflicts, an unreachable
// registry, 5xx, stalls and short bodies on the wire, credentials in a URL),
// in text and JSON, with debug logs on; no secret may appear in stdout,
// stderr, the JSON, the git catalog's history or what the registry stores.
func TestNoSecretLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs many commands")
	}
	const (
		regPass     = "reg-S3cr3t-9f1e"
		gitToken    = "git-T0k3n-77aa"
		receiverTok = "rcv-T0k3n-42cc"
		cosignPass  = "cosign-P4ss-13dd"
		wrongPass   = "wrong-P4ss-0bad"
		wrongToken  = "wrong-T0k3n-0bad"
	)
	secrets := []string{regPass, gitToken, receiverTok, cosignPass, wrongPass, wrongToken}
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", t.TempDir()+"/config.json")
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("COSIGN_PASSWORD", cosignPass)

	reg := registrytest.New(t, registrytest.WithHtpasswd("ci", regPass))
	srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", gitToken))
	srv.NewRepo(t, "catalog.git")
	bare := srv.Dir("catalog.git")
	gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
	gittest.Seed(t, bare, map[string]string{"README.md": "catalog\n"}, "init")
	proxy := faultproxy.New(t, srv.URL)
	gitURL := "git+" + srv.URL + "/catalog.git"
	gitViaProxy := "git+" + proxy.URL + "/catalog.git"
	hook := receiverForSecrets(t, receiverTok)

	pkg := packageHello(t, "1.0.0", "")
	other := packageHello(t, "1.0.0", "other bytes")
	dev := packageHello(t, "1.1.0-dev.1", "")
	ociTo := []string{"--to", reg.Ref("charts"), "--ca-file", reg.CAFile}
	gitTo := []string{"--to", gitURL, "--index-url", "https://example.github.io/catalog/"}

	type step struct {
		name  string
		env   map[string]string // set for this step only
		args  []string
		code  int
		fault *faultproxy.Rule
	}
	creds := map[string]string{"CHARTSHIP_REGISTRY_USERNAME": "ci", "CHARTSHIP_REGISTRY_PASSWORD": regPass, "CHARTSHIP_GIT_TOKEN": gitToken}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range creds {
			m[a] = b
		}
		m[k] = v
		return m
	}
	steps := []step{
		{name: "publish", env: creds, args: append(append([]string{"publish", pkg}, ociTo...), gitTo...)},
		{name: "publish again", env: creds, args: append(append([]string{"publish", pkg}, ociTo...), gitTo...)},
		{name: "publish a pre-release", env: creds, args: append(append([]string{"publish", dev}, ociTo...), gitTo...)},
		{name: "conflict", env: creds, args: append(append([]string{"publish", other}, ociTo...), gitTo...), code: exitCheck},
		{name: "registry refuses the password", env: with("CHARTSHIP_REGISTRY_PASSWORD", wrongPass), args: append([]string{"publish", pkg, "--retries", "1"}, ociTo...), code: exitExternal},
		{name: "password on the command line", env: map[string]string{}, args: append([]string{"publish", pkg, "--username", "ci", "--password", wrongPass, "--retries", "1"}, ociTo...), code: exitExternal},
		{name: "git refuses the token", env: with("CHARTSHIP_GIT_TOKEN", wrongToken), args: append([]string{"publish", pkg, "--retries", "1"}, gitTo...), code: exitExternal},
		{name: "token in the URL", env: map[string]string{}, args: []string{"publish", pkg, "--retries", "1", "--to", "git+http://x-access-token:" + wrongToken + "@" + strings.TrimPrefix(srv.URL, "http://") + "/catalog.git"}, code: exitExternal},
		{name: "registry unreachable", env: creds, args: []string{"publish", pkg, "--retries", "1", "--to", "oci://127.0.0.1:1/charts"}, code: exitExternal},
		{name: "git 502 beyond the retries", env: creds, args: []string{"publish", dev, "--retries", "1", "--to", gitViaProxy},
			fault: &faultproxy.Rule{Method: http.MethodPost, Class: faultproxy.Status502, Times: -1}, code: exitExternal},
		{name: "git stalls beyond the retries", env: creds, args: []string{"publish", dev, "--retries", "1", "--request-timeout", "1s", "--to", gitViaProxy},
			fault: &faultproxy.Rule{Method: http.MethodPost, Class: faultproxy.Stall, Times: -1, Stall: time.Minute}, code: exitExternal},
		{name: "git short bodies, healed", env: creds, args: []string{"publish", packageHello(t, "1.2.0", ""), "--to", gitViaProxy},
			fault: &faultproxy.Rule{Method: http.MethodPost, Path: "/git-upload-pack", Class: faultproxy.Truncate, Times: 2}},
		{name: "prune, dry run", env: creds, args: []string{"catalog", "prune", "--to", gitURL, "--match", `-dev\.`, "--older-than", "1ns", "--dry-run"}},
		{name: "prune", env: creds, args: []string{"catalog", "prune", "--to", gitURL, "--match", `-dev\.`, "--older-than", "1ns"}},
		{name: "prune with a refused token", env: with("CHARTSHIP_GIT_TOKEN", wrongToken), args: []string{"catalog", "prune", "--to", gitURL, "--match", `-dev\.`, "--older-than", "1ns"}, code: exitExternal},
		{name: "notify", args: []string{"notify", "--receiver", hook + "/hook/0123456789abcdef", "--token", receiverTok}},
		{name: "notify with a wrong token", args: []string{"notify", "--receiver", hook + "/hook/0123456789abcdef", "--token", wrongToken}, code: exitExternal},
		{name: "notify a receiver that fails", args: []string{"notify", "--receiver", hook + "/fail/0123456789abcdef", "--token", receiverTok}, code: exitExternal},
	}
	var seen bytes.Buffer
	for _, s := range steps {
		for _, output := range []string{"json", "text"} {
			for _, k := range []string{"CHARTSHIP_REGISTRY_USERNAME", "CHARTSHIP_REGISTRY_PASSWORD", "CHARTSHIP_GIT_TOKEN"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range s.env {
				t.Setenv(k, v)
			}
			if s.fault != nil {
				proxy.Inject(*s.fault)
			}
			var out, errOut bytes.Buffer
			args := append([]string{"chartship", "--output", output, "--verbose", "--log-format", "plain"}, s.args...)
			code := run(context.Background(), args, &out, &errOut)
			proxy.Inject()
			if output == "json" && s.name != "publish again" && s.name != "publish" {
				// the first run of a publish writes; its text twin sees "already published"
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
	assert.Contains(t, seen.String(), "refused the credentials", "the failure paths ran")

	// the git catalog's whole history, and what the registry stores
	history := gittest.Git(t, bare, "log", "-p", "--all", "--format=%an %ae %s %b")
	stored := registryContents(t, reg, "charts/hello")
	for _, sec := range secrets {
		assert.NotContains(t, history, sec, "a secret in the git catalog's history")
		assert.NotContains(t, stored, sec, "a secret in the registry")
	}
	assert.Contains(t, history, "hello-1.0.0.tgz", "the catalog was written")
}

// registryContents is every manifest and config the registry holds for repo.
func registryContents(t *testing.T, reg *registrytest.Registry, repo string) string {
	t.Helper()
	get := func(path string, accept string) []byte {
		req, err := http.NewRequest(http.MethodGet, reg.URL+path, nil)
		require.NoError(t, err)
		req.SetBasicAuth(reg.Username, reg.Password)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := reg.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return b
	}
	var tags struct{ Tags []string }
	require.NoError(t, json.Unmarshal(get("/v2/"+repo+"/tags/list", ""), &tags))
	require.NotEmpty(t, tags.Tags)
	var all bytes.Buffer
	for _, tag := range tags.Tags {
		m := get("/v2/"+repo+"/manifests/"+tag, "application/vnd.oci.image.manifest.v1+json")
		all.Write(m)
		var man struct{ Config struct{ Digest string } }
		require.NoError(t, json.Unmarshal(m, &man))
		all.Write(get("/v2/"+repo+"/blobs/"+man.Config.Digest, ""))
	}
	return all.String()
}

// receiverForSecrets is a Flux generic-hmac Receiver: it checks the HMAC of
// the body with its token; /fail/ answers 500.
func receiverForSecrets(t *testing.T, token string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.URL.Path, "/fail/") {
			http.Error(w, "receiver broken", http.StatusInternalServerError)
			return
		}
		algo, sig, ok := strings.Cut(r.Header.Get("X-Signature"), "=")
		mac := hmac.New(sha256.New, []byte(token))
		mac.Write(body)
		if !ok || algo != "sha256" || !hmac.Equal([]byte(sig), []byte(hex.EncodeToString(mac.Sum(nil)))) {
			http.Error(w, "unable to validate HMAC signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
