package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/fluxtest"
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
	isolateClientConfig(t)

	reg := registrytest.New(t, registrytest.WithHtpasswd("ci", regPass))
	srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", gitToken))
	bare := seedCatalogRepo(t, srv)
	gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
	proxy := faultproxy.New(t, srv.URL)
	gitURL := "git+" + srv.URL + "/catalog.git"
	gitViaProxy := "git+" + proxy.URL + "/catalog.git"
	hook := fluxtest.Receiver(t, receiverTok, nil)

	pkg := packageHello(t, "1.0.0", "")
	other := packageHello(t, "1.0.0", "other bytes")
	dev := packageHello(t, "1.1.0-dev.1", "")
	ociTo := []string{"--to", reg.Ref("charts"), "--ca-file", reg.CAFile}
	gitTo := []string{"--to", gitURL, "--index-url", "https://example.github.io/catalog/"}

	// COSIGN_PASSWORD is set in every step (though none signs): it must not leak either
	cosign := map[string]string{"COSIGN_PASSWORD": cosignPass}
	creds := envWith(cosign, "CHARTSHIP_REGISTRY_USERNAME", "ci")
	creds["CHARTSHIP_REGISTRY_PASSWORD"] = regPass
	creds["CHARTSHIP_GIT_TOKEN"] = gitToken
	steps := []secretStep{
		// the first publish writes; its text twin sees "already published"
		{name: "publish", env: creds, args: append(append([]string{"publish", pkg}, ociTo...), gitTo...), code: exitOK},
		{name: "publish again", env: creds, args: append(append([]string{"publish", pkg}, ociTo...), gitTo...), code: exitOK},
		{name: "publish a pre-release", env: creds, args: append(append([]string{"publish", dev}, ociTo...), gitTo...)},
		{name: "conflict", env: creds, args: append(append([]string{"publish", other}, ociTo...), gitTo...), code: exitCheck},
		{name: "registry refuses the password", env: envWith(creds, "CHARTSHIP_REGISTRY_PASSWORD", wrongPass), args: append([]string{"publish", pkg, "--retries", "1"}, ociTo...), code: exitExternal},
		{name: "password on the command line", env: cosign, args: append([]string{"publish", pkg, "--username", "ci", "--password", wrongPass, "--retries", "1"}, ociTo...), code: exitExternal},
		{name: "git refuses the token", env: envWith(creds, "CHARTSHIP_GIT_TOKEN", wrongToken), args: append([]string{"publish", pkg, "--retries", "1"}, gitTo...), code: exitExternal},
		{name: "token in the URL", env: cosign, args: []string{"publish", pkg, "--retries", "1", "--to", "git+http://x-access-token:" + wrongToken + "@" + strings.TrimPrefix(srv.URL, "http://") + "/catalog.git"}, code: exitExternal},
		{name: "registry unreachable", env: creds, args: []string{"publish", pkg, "--retries", "1", "--to", "oci://127.0.0.1:1/charts"}, code: exitExternal},
		{name: "git 502 beyond the retries", env: creds, args: []string{"publish", dev, "--retries", "1", "--to", gitViaProxy},
			proxy: proxy, fault: &faultproxy.Rule{Method: http.MethodPost, Class: faultproxy.Status502, Times: -1}, code: exitExternal},
		{name: "git stalls beyond the retries", env: creds, args: []string{"publish", dev, "--retries", "1", "--request-timeout", "1s", "--to", gitViaProxy},
			proxy: proxy, fault: &faultproxy.Rule{Method: http.MethodPost, Class: faultproxy.Stall, Times: -1, Stall: time.Minute}, code: exitExternal},
		{name: "git short bodies, healed", env: creds, args: []string{"publish", packageHello(t, "1.2.0", ""), "--to", gitViaProxy},
			proxy: proxy, fault: &faultproxy.Rule{Method: http.MethodPost, Path: "/git-upload-pack", Class: faultproxy.Truncate, Times: 2}},
		{name: "prune, dry run", env: creds, args: []string{"catalog", "prune", "--to", gitURL, "--match", `-dev\.`, "--older-than", "1ns", "--dry-run"}},
		{name: "prune", env: creds, args: []string{"catalog", "prune", "--to", gitURL, "--match", `-dev\.`, "--older-than", "1ns"}},
		{name: "prune with a refused token", env: envWith(creds, "CHARTSHIP_GIT_TOKEN", wrongToken), args: []string{"catalog", "prune", "--to", gitURL, "--match", `-dev\.`, "--older-than", "1ns"}, code: exitExternal},
		{name: "notify", env: cosign, args: []string{"notify", "--receiver", hook + "/hook/0123456789abcdef", "--token", receiverTok}},
		{name: "notify with a wrong token", env: cosign, args: []string{"notify", "--receiver", hook + "/hook/0123456789abcdef", "--token", wrongToken}, code: exitExternal},
		{name: "notify a receiver that fails", env: cosign, args: []string{"notify", "--receiver", hook + "/fail/0123456789abcdef", "--token", receiverTok}, code: exitExternal},
	}
	seen := runSecretSteps(t, steps, secrets)
	assert.Contains(t, seen, "refused the credentials", "the failure paths ran")

	history, _ := assertNoSecretStored(t, bare, reg, secrets)
	assert.Contains(t, history, "hello-1.0.0.tgz", "the catalog was written")
}
