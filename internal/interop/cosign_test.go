package interop_test

import (
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

	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/peertools"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/sigstoretest"
	"github.com/chartship/chartship/sign"
)

// cosignKeys runs `cosign generate-key-pair` (COSIGN_PASSWORD) in a fresh directory.
func cosignKeys(t *testing.T, cosign, password string) (key, pub string) {
	t.Helper()
	dir := t.TempDir()
	out, err := tool(t, []string{"COSIGN_PASSWORD=" + password}, cosign, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign"))
	require.NoError(t, err, out)
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// cosignRegistry is a plain-HTTP registry with a chart hello:VERSION per version
// published by chartship; it returns the catalog and the chart's repository.
func cosignRegistry(t *testing.T, versions ...string) (*registrytest.Registry, *oci.Catalog, string) {
	t.Helper()
	reg := registrytest.New(t)
	cat, err := oci.Open(reg.Ref("charts"), oci.Options{PlainHTTP: true})
	require.NoError(t, err)
	for _, v := range versions {
		_, err := cat.Publish(context.Background(), charttest.Package(t, t.TempDir(), "hello", v))
		require.NoError(t, err)
	}
	return reg, cat, reg.Host + "/charts/hello"
}

var cosignHTTP = []string{"--allow-http-registry", "--allow-insecure-registry"}

func digestOf(t *testing.T, cat *oci.Catalog, version string) string {
	t.Helper()
	d, err := cat.Subject(context.Background(), "hello", version)
	require.NoError(t, err)
	return d.Digest.String()
}

// TestCosignVerifiesChartshipSignatures: `cosign verify` accepts the signature
// chartship writes with a key cosign generated, `cosign verify-attestation --type`
// the upgrade-test attestation; with another key cosign refuses both.
func TestCosignVerifiesChartshipSignatures(t *testing.T) {
	cosign := peertools.Cosign(t)
	key, pub := cosignKeys(t, cosign, "pw")
	_, otherPub := cosignKeys(t, cosign, "other")
	_, cat, repo := cosignRegistry(t, "1.0.0", "1.1.0")

	s, err := sign.New(sign.Options{Key: key, Password: "pw"})
	require.NoError(t, err)
	pred := sign.UpgradeTestPredicate{Chart: "hello", Version: "1.1.0", From: []string{"1.0.0"}, Passed: true, KubernetesVersion: "v1.37.2",
		Scenarios: []sign.UpgradeTestScenario{{Name: "default", Kind: "upgrade", From: "1.0.0", To: "1.1.0", Passed: true, Seconds: 3.5}}, Seconds: 4, ChartshipVersion: "test"}
	p, err := pred.Predicate()
	require.NoError(t, err)
	_, err = s.Sign(context.Background(), cat, "hello", "1.1.0", p)
	require.NoError(t, err)
	ref := repo + "@" + digestOf(t, cat, "1.1.0")

	verify := append([]string{"verify", "--key", pub, "--insecure-ignore-tlog=true", "--output", "json"}, cosignHTTP...)
	out := mustTool(t, nil, cosign, append(verify, ref)...)
	assert.Contains(t, out, digestOf(t, cat, "1.1.0"))

	att := append([]string{"verify-attestation", "--key", pub, "--insecure-ignore-tlog=true", "--type", sign.UpgradeTestPredicateType}, cosignHTTP...)
	out = mustTool(t, nil, cosign, append(att, ref)...)
	st := attestedStatement(t, out)
	assert.Equal(t, sign.UpgradeTestPredicateType, st.PredicateType)
	var got sign.UpgradeTestPredicate
	require.NoError(t, json.Unmarshal(st.Predicate, &got))
	assert.Equal(t, pred, got)

	_, err = tool(t, nil, cosign, append(append([]string{"verify", "--key", otherPub, "--insecure-ignore-tlog=true"}, cosignHTTP...), ref)...)
	assert.Error(t, err, "another key")
	_, err = tool(t, nil, cosign, append(append([]string{"verify", "--key", pub, "--insecure-ignore-tlog=true"}, cosignHTTP...), repo+"@"+digestOf(t, cat, "1.0.0"))...)
	assert.Error(t, err, "an unsigned chart")
}

type statement struct {
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// attestedStatement decodes the DSSE payload cosign verify-attestation prints.
func attestedStatement(t *testing.T, out string) statement {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal([]byte(line), &env) != nil || env.Payload == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(env.Payload)
		require.NoError(t, err)
		var st statement
		require.NoError(t, json.Unmarshal(b, &st))
		return st
	}
	t.Fatalf("no DSSE envelope in cosign's output:\n%s", out)
	return statement{}
}

// TestChartshipVerifiesCosignSignatures: what `cosign sign` and `cosign attest` write
// (a key pair cosign generated, no transparency log) is what chartship's Verify and
// VerifyUpgrade accept; a signature by another key is rejected, saying so.
func TestChartshipVerifiesCosignSignatures(t *testing.T) {
	cosign := peertools.Cosign(t)
	key, pub := cosignKeys(t, cosign, "pw")
	_, otherPub := cosignKeys(t, cosign, "other")
	_, cat, repo := cosignRegistry(t, "1.0.0", "1.1.0")
	ref := repo + "@" + digestOf(t, cat, "1.1.0")
	dir := t.TempDir()
	sc := filepath.Join(dir, "signing-config.json")
	mustTool(t, nil, cosign, "signing-config", "create", "--out", sc)
	env := []string{"COSIGN_PASSWORD=pw"}
	mustTool(t, env, cosign, append(append([]string{"sign", "--key", key, "--signing-config", sc, "--yes"}, cosignHTTP...), ref)...)

	pred := sign.UpgradeTestPredicate{Chart: "hello", Version: "1.1.0", From: []string{"1.0.0"}, Passed: true,
		Scenarios: []sign.UpgradeTestScenario{{Name: "default", Kind: "upgrade", From: "1.0.0", To: "1.1.0", Passed: true}}}
	pb, err := json.Marshal(pred)
	require.NoError(t, err)
	predFile := filepath.Join(dir, "predicate.json")
	require.NoError(t, os.WriteFile(predFile, pb, 0o644))
	mustTool(t, env, cosign, append(append([]string{"attest", "--key", key, "--signing-config", sc, "--yes", "--type", sign.UpgradeTestPredicateType, "--predicate", predFile}, cosignHTTP...), ref)...)

	v, err := sign.NewVerifier(sign.VerifyOptions{Key: pub})
	require.NoError(t, err)
	res, err := v.VerifyUpgrade(context.Background(), cat, "hello", "1.1.0", "")
	require.NoError(t, err)
	assert.True(t, res.Signed)
	require.NotNil(t, res.UpgradeTest)
	assert.Equal(t, []string{"1.0.0"}, res.UpgradeTest.From)
	proven, err := v.ProvenUpgrades(context.Background(), cat, "hello", []string{"1.1.0"})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"1.1.0": {"1.0.0"}}, proven, "bump --require-upgrade-test reads cosign's attestation too")

	other, err := sign.NewVerifier(sign.VerifyOptions{Key: otherPub})
	require.NoError(t, err)
	res, err = other.Verify(context.Background(), cat, "hello", "1.1.0")
	require.Error(t, err)
	assert.Equal(t, errdef.ErrCheck, errdef.Kind(err))
	assert.Len(t, res.Rejected, 2)
}

// TestCosignVerifiesChartshipKeyless: `cosign verify` with the trusted root of the local
// Fulcio and Rekor (sigstoretest) accepts chartship's keyless signature for the identity
// and issuer the token named (the test CA writes no SCT, so --insecure-ignore-sct), and
// refuses another identity.
func TestCosignVerifiesChartshipKeyless(t *testing.T) {
	cosign := peertools.Cosign(t)
	ss := sigstoretest.New(t)
	_, cat, repo := cosignRegistry(t, "1.0.0")
	s, err := sign.New(sign.Options{Keyless: &sign.KeylessOptions{IDToken: ss.Token(t, "ci@example.com", 5*time.Minute),
		FulcioURL: ss.URL, RekorURL: ss.URL, TrustedRoot: ss.TrustedRoot}})
	require.NoError(t, err)
	_, err = s.Sign(context.Background(), cat, "hello", "1.0.0")
	require.NoError(t, err)
	ref := repo + "@" + digestOf(t, cat, "1.0.0")
	args := func(identity string) []string {
		return append(append([]string{"verify", "--trusted-root", ss.TrustedRoot, "--insecure-ignore-sct",
			"--certificate-identity", identity, "--certificate-oidc-issuer", ss.Issuer}, cosignHTTP...), ref)
	}
	mustTool(t, nil, cosign, args("ci@example.com")...)
	_, err = tool(t, nil, cosign, args("someone@example.com")...)
	assert.Error(t, err, "another identity")
}
