package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/internal/sigstoretest"
)

// TestPublishSignedThenVerify: publish --cosign-key signs the OCI push (password from
// COSIGN_PASSWORD, never printed); verify with the public key exits 0, with another key
// or on an unsigned chart 2, saying which; --require-upgrade-test without an attestation 2.
func TestPublishSignedThenVerify(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", filepath.Join(t.TempDir(), "config.json"))
	reg := registrytest.New(t)
	key, pub := signtest.KeyPair(t, t.TempDir(), "cosign-pw-secret")
	_, otherPub := signtest.KeyPair(t, t.TempDir(), "x")
	signed := packageHello(t, "1.0.0", "")
	unsigned := packageHello(t, "1.1.0", "")

	t.Setenv("COSIGN_PASSWORD", "wrong")
	code, _, errOut := runCLI(t, "publish", signed, "--to", reg.Ref("charts"), "--plain-http", "--cosign-key", key)
	assert.Equal(t, 1, code, errOut)
	assert.Contains(t, errOut, "wrong password; set COSIGN_PASSWORD")
	assert.Empty(t, reg.RegistryRequests(), "nothing pushed with a key that can't sign")

	t.Setenv("COSIGN_PASSWORD", "cosign-pw-secret")
	code, out, errOut := runCLI(t, "publish", signed, "--to", reg.Ref("charts"), "--plain-http", "--cosign-key", key)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "signed          https://sigstore.dev/cosign/sign/v1 → "+reg.Host+"/charts/hello@sha256:")
	assert.NotContains(t, out+errOut, "cosign-pw-secret")
	code, _, errOut = runCLI(t, "publish", unsigned, "--to", reg.Ref("charts"), "--plain-http")
	require.Equal(t, 0, code, errOut)

	ref := reg.Ref("charts") + "/hello"
	code, out, errOut = runCLI(t, "verify", ref+":1.0.0", "--plain-http", "--cosign-key", pub)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "signed by key "+pub)

	code, _, errOut = runCLI(t, "verify", ref+":1.0.0", "--plain-http", "--cosign-key", otherPub)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "is not signed by key "+otherPub)
	assert.Contains(t, errOut, "rejected")

	code, _, errOut = runCLI(t, "verify", ref+":1.1.0", "--plain-http", "--cosign-key", pub)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "no sigstore bundle")

	code, _, errOut = runCLI(t, "verify", ref+":1.0.0", "--plain-http", "--cosign-key", pub, "--require-upgrade-test", "--from", "0.9.0")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "no upgrade-test attestation")

	code, _, errOut = runCLI(t, "verify", ref+":1.0.0", "--plain-http")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "say whose signature counts")
	code, _, errOut = runCLI(t, "verify", strings.TrimPrefix(ref, "oci://"), "--cosign-key", pub)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "want oci://REGISTRY/NAMESPACE/CHART:VERSION")
}

// TestPublishKeylessThenVerify: --cosign-keyless takes CircleCI's CIRCLE_OIDC_TOKEN_V2
// (SIGSTORE_ID_TOKEN unset) and signs through the Fulcio and Rekor given as flags (the
// local sigstoretest); verify accepts the identity; an expired token is refused before
// anything is pushed, naming the variable and never printing the token.
func TestPublishKeylessThenVerify(t *testing.T) {
	ociClearEnv(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("HELM_REGISTRY_CONFIG", filepath.Join(t.TempDir(), "config.json"))
	t.Setenv("SIGSTORE_ID_TOKEN", "")
	ss := sigstoretest.New(t)
	reg := registrytest.New(t)
	pkg := packageHello(t, "1.0.0", "")
	flags := []string{"--to", reg.Ref("charts"), "--plain-http", "--cosign-keyless", "--fulcio-url", ss.URL, "--rekor-url", ss.URL, "--trusted-root", ss.TrustedRoot}

	expired := ss.Token(t, "ci@example.com", -time.Minute)
	t.Setenv("CIRCLE_OIDC_TOKEN_V2", expired)
	code, out, errOut := runCLI(t, append([]string{"publish", pkg}, flags...)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "CIRCLE_OIDC_TOKEN_V2 expired at")
	assert.NotContains(t, out+errOut, expired)
	assert.Empty(t, reg.RegistryRequests())

	t.Setenv("CIRCLE_OIDC_TOKEN_V2", ss.Token(t, "ci@example.com", 5*time.Minute))
	code, _, errOut = runCLI(t, append([]string{"publish", pkg}, flags...)...)
	require.Equal(t, 0, code, errOut)
	code, out, errOut = runCLI(t, "verify", reg.Ref("charts")+"/hello:1.0.0", "--plain-http", "--trusted-root", ss.TrustedRoot,
		"--certificate-identity", "ci@example.com", "--certificate-oidc-issuer", ss.Issuer)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "signed by identity ci@example.com")
}
