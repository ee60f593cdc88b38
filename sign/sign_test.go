package sign_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/sign"
)

// TestSignStoresABundleReferrerAndVerifies: signing puts one sigstore bundle, as a
// referrer of the chart manifest, into the distribution registry (which has no
// referrers API, so through the tag-schema fallback); it verifies with the public
// key; signing the same chart again writes nothing.
func TestSignStoresABundleReferrerAndVerifies(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	cat, _ := published(t, reg, "hello", "1.0.0")
	key, pub := signtest.KeyPair(t, t.TempDir(), "s3cret")

	s, err := sign.New(sign.Options{Key: key, Password: "s3cret"})
	require.NoError(t, err)
	sigs, err := s.Sign(ctx, cat, "hello", "1.0.0")
	require.NoError(t, err)
	require.Len(t, sigs, 1)
	assert.Equal(t, sign.Signed, sigs[0].Status)
	assert.Equal(t, sign.SignPredicateType, sigs[0].PredicateType)

	// What is in the registry: the referrers tag sha256-<hex> indexes one bundle manifest.
	repo, err := remote.NewRepository(repoRef(reg, "hello"))
	require.NoError(t, err)
	repo.PlainHTTP = true
	chartDesc, err := repo.Resolve(ctx, "1.0.0")
	require.NoError(t, err)
	_, err = repo.Resolve(ctx, "sha256-"+chartDesc.Digest.Encoded())
	require.NoError(t, err, "the referrers tag-schema index")
	var refs []ocispec.Descriptor
	require.NoError(t, repo.Referrers(ctx, chartDesc, sign.BundleMediaType, func(ds []ocispec.Descriptor) error { refs = append(refs, ds...); return nil }))
	require.Len(t, refs, 1)
	assert.Equal(t, sigs[0].Ref, repoRef(reg, "hello")+"@"+refs[0].Digest.String())
	mb, err := content.FetchAll(ctx, repo, refs[0])
	require.NoError(t, err)
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(mb, &m))
	assert.Equal(t, sign.SignPredicateType, m.Annotations[sign.AnnotationPredicateType])
	require.Len(t, m.Layers, 1)
	assert.Equal(t, sign.BundleMediaType, m.Layers[0].MediaType)
	bundle, err := content.FetchAll(ctx, repo.Blobs(), m.Layers[0])
	require.NoError(t, err)
	assert.Contains(t, string(bundle), `"dsseEnvelope"`)

	v, err := sign.NewVerifier(sign.VerifyOptions{Key: pub})
	require.NoError(t, err)
	got, err := v.Verify(ctx, cat, "hello", "1.0.0")
	require.NoError(t, err)
	assert.True(t, got.Signed)
	assert.Equal(t, chartDesc.Digest.String(), got.Digest)

	// Again: already signed, nothing written.
	reg.ResetRequests()
	sigs, err = s.Sign(ctx, cat, "hello", "1.0.0")
	require.NoError(t, err)
	assert.Equal(t, sign.AlreadySigned, sigs[0].Status)
	assert.Zero(t, writes(reg.Requests()))
}

// TestSignKeyErrors: a wrong password, a missing key, a file that is no cosign key —
// each a usage error naming the file and the fix, never the password.
func TestSignKeyErrors(t *testing.T) {
	dir := t.TempDir()
	key, pub := signtest.KeyPair(t, dir, "right-password")
	for name, tc := range map[string]struct {
		opts sign.Options
		want string
	}{
		"wrong password": {sign.Options{Key: key, Password: "wrong-password"}, "wrong password; set COSIGN_PASSWORD"},
		"missing key":    {sign.Options{Key: filepath.Join(dir, "nope.key"), Password: "x"}, "nope.key: no such file"},
		"public key":     {sign.Options{Key: pub, Password: "x"}, "is not a cosign private key"},
		"both modes":     {sign.Options{Key: key, Keyless: &sign.KeylessOptions{}}, "not both"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sign.New(tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, errdef.ErrUsage, errdef.Kind(err))
			assert.NotContains(t, err.Error(), "wrong-password")
			assert.NotContains(t, err.Error(), "right-password")
		})
	}
}

// TestVerifyFailures: an unsigned chart, a signature by another key, each a check
// error (exit 2) saying what was found.
func TestVerifyFailures(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	cat, _ := published(t, reg, "hello", "1.0.0")
	key, _ := signtest.KeyPair(t, t.TempDir(), "pw")
	_, otherPub := signtest.KeyPair(t, t.TempDir(), "pw2")
	v, err := sign.NewVerifier(sign.VerifyOptions{Key: otherPub})
	require.NoError(t, err)

	_, err = v.Verify(ctx, cat, "hello", "1.0.0")
	require.Error(t, err)
	assert.Equal(t, errdef.ErrCheck, errdef.Kind(err))
	assert.Contains(t, err.Error(), "no sigstore bundle among its 0 referrers")

	s, err := sign.New(sign.Options{Key: key, Password: "pw"})
	require.NoError(t, err)
	_, err = s.Sign(ctx, cat, "hello", "1.0.0")
	require.NoError(t, err)
	res, err := v.Verify(ctx, cat, "hello", "1.0.0")
	require.Error(t, err)
	assert.Equal(t, errdef.ErrCheck, errdef.Kind(err))
	assert.Contains(t, err.Error(), "rejected: does not verify with key "+otherPub)
	require.Len(t, res.Rejected, 1)
	assert.Equal(t, sign.SignPredicateType, res.Rejected[0].PredicateType)

	_, err = v.Verify(ctx, cat, "hello", "9.9.9")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not found")
}

// TestSignRegistryRefusesReferrer: a registry that refuses the bundle's manifest fails
// the signing with the registry named (an external error); the chart stays; a re-run
// adds the signature, once.
func TestSignRegistryRefusesReferrer(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	cat, _ := published(t, reg, "hello", "1.0.0")
	key, pub := signtest.KeyPair(t, t.TempDir(), "pw")
	s, err := sign.New(sign.Options{Key: key, Password: "pw"})
	require.NoError(t, err)

	reg.InjectFaults(func(_ int, r *http.Request) *registrytest.Fault {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			return &registrytest.Fault{Status: http.StatusForbidden}
		}
		return nil
	})
	_, err = s.Sign(ctx, cat, "hello", "1.0.0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), reg.Host)
	assert.Contains(t, err.Error(), "run again to add it")
	reg.InjectFaults(nil)

	sigs, err := s.Sign(ctx, cat, "hello", "1.0.0")
	require.NoError(t, err)
	assert.Equal(t, sign.Signed, sigs[0].Status)
	v, err := sign.NewVerifier(sign.VerifyOptions{Key: pub})
	require.NoError(t, err)
	got, err := v.Verify(ctx, cat, "hello", "1.0.0")
	require.NoError(t, err)
	assert.Len(t, got.Statements, 1)
}

// TestUpgradeTestAttestation: the attestation is a second bundle; VerifyUpgrade accepts
// the attested from-version (given, or the previous release) and refuses others and
// failed tests, saying which.
func TestUpgradeTestAttestation(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	published(t, reg, "hello", "1.0.0")
	published(t, reg, "hello", "1.1.0-rc.1")
	cat, _ := published(t, reg, "hello", "1.1.0")
	key, pub := signtest.KeyPair(t, t.TempDir(), "pw")
	s, err := sign.New(sign.Options{Key: key, Password: "pw"})
	require.NoError(t, err)
	pred := sign.UpgradeTestPredicate{
		Chart: "hello", Version: "1.1.0", From: []string{"1.0.0"}, Passed: true, KubernetesVersion: "v1.37.2",
		Scenarios:        []sign.UpgradeTestScenario{{Name: "default", Kind: "upgrade", From: "1.0.0", To: "1.1.0", Passed: true, Seconds: 12.5}},
		Seconds:          13.25,
		ChartshipVersion: "test",
	}
	p, err := pred.Predicate()
	require.NoError(t, err)
	sigs, err := s.Sign(ctx, cat, "hello", "1.1.0", p)
	require.NoError(t, err)
	require.Len(t, sigs, 2)
	assert.Equal(t, sign.UpgradeTestPredicateType, sigs[1].PredicateType)

	v, err := sign.NewVerifier(sign.VerifyOptions{Key: pub})
	require.NoError(t, err)
	res, err := v.VerifyUpgrade(ctx, cat, "hello", "1.1.0", "")
	require.NoError(t, err, "from the previous release, 1.0.0 (the rc is not a release)")
	require.NotNil(t, res.UpgradeTest)
	assert.Equal(t, pred, *res.UpgradeTest)

	_, err = v.VerifyUpgrade(ctx, cat, "hello", "1.1.0", "0.9.0")
	require.Error(t, err)
	assert.Equal(t, errdef.ErrCheck, errdef.Kind(err))
	assert.Contains(t, err.Error(), "cover upgrades from 1.0.0, not from 0.9.0")

	// The same attestation again: nothing added.
	sigs, err = s.Sign(ctx, cat, "hello", "1.1.0", p)
	require.NoError(t, err)
	assert.Equal(t, sign.AlreadySigned, sigs[1].Status)

	// A signed but failed test: refused, saying so.
	_, _ = published(t, reg, "hello", "1.2.0")
	failed := pred
	failed.Version, failed.From, failed.Passed = "1.2.0", []string{"1.1.0"}, false
	failed.Scenarios = []sign.UpgradeTestScenario{{Name: "ha", Kind: "upgrade", From: "1.1.0", To: "1.2.0", Passed: false}}
	fp, err := failed.Predicate()
	require.NoError(t, err)
	_, err = s.Sign(ctx, cat, "hello", "1.2.0", fp)
	require.NoError(t, err)
	_, err = v.VerifyUpgrade(ctx, cat, "hello", "1.2.0", "1.1.0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the upgrade from 1.1.0 failed (scenario ha)")

	// Signed, no attestation.
	_, err = s.Sign(ctx, cat, "hello", "1.0.0")
	require.NoError(t, err)
	_, err = v.VerifyUpgrade(ctx, cat, "hello", "1.0.0", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no release before 1.0.0")
	_, err = v.VerifyUpgrade(ctx, cat, "hello", "1.0.0", "0.1.0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no upgrade-test attestation")
}

// TestKeylessTokenErrors: a malformed or expired OIDC token is refused before anything
// is sent, naming where it came from, never echoing it.
func TestKeylessTokenErrors(t *testing.T) {
	root := filepath.Join(t.TempDir(), "trusted_root.json")
	require.NoError(t, os.WriteFile(root, []byte("{}"), 0o644))
	b64 := func(s string) string { return strings.TrimRight(base64url(s), "=") }
	expired := b64(`{"alg":"RS256"}`) + "." + b64(`{"iss":"https://oidc.circleci.com/org/x","sub":"org/x/project/y","exp":1000}`) + ".c2ln"
	noExp := b64(`{"alg":"RS256"}`) + "." + b64(`{"iss":"https://issuer"}`) + ".c2ln"
	for name, tc := range map[string]struct{ tok, want string }{
		"empty":       {"", "set SIGSTORE_ID_TOKEN"},
		"malformed":   {"not-a-jwt-secret-value", "is not a valid OIDC token (1 dot-separated parts"},
		"bad payload": {"a.!!!.c", "payload is not base64url"},
		"expired":     {expired, "expired at 1970-01-01T00:16:40Z"},
		"no expiry":   {noExp, "has no expiry"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sign.New(sign.Options{Keyless: &sign.KeylessOptions{IDToken: tc.tok, TokenSource: "SIGSTORE_ID_TOKEN", TrustedRoot: root}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, errdef.ErrUsage, errdef.Kind(err))
			if tc.tok != "" {
				assert.NotContains(t, err.Error(), tc.tok)
			}
		})
	}
}

// TestProvenUpgradesReadsOnlyUpgradeAttestations: bump asks for every available
// version's proven upgrades; per version only the upgrade-test bundles are read (the
// listing's predicate-type annotation leaves the plain signature unread), and a failed
// test, an unsigned version and a missing one prove nothing.
func TestProvenUpgradesReadsOnlyUpgradeAttestations(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	published(t, reg, "hello", "1.0.0")
	published(t, reg, "hello", "1.1.0")
	cat, _ := published(t, reg, "hello", "1.2.0")
	key, pub := signtest.KeyPair(t, t.TempDir(), "pw")
	s, err := sign.New(sign.Options{Key: key, Password: "pw"})
	require.NoError(t, err)
	for _, u := range []struct {
		version, from string
		passed        bool
	}{{"1.1.0", "1.0.0", true}, {"1.2.0", "1.1.0", false}} {
		p, err := sign.UpgradeTestPredicate{Chart: "hello", Version: u.version, From: []string{u.from}, Passed: u.passed,
			Scenarios: []sign.UpgradeTestScenario{{Name: "default", Kind: "upgrade", From: u.from, To: u.version, Passed: u.passed}}}.Predicate()
		require.NoError(t, err)
		_, err = s.Sign(ctx, cat, "hello", u.version, p)
		require.NoError(t, err)
	}
	v, err := sign.NewVerifier(sign.VerifyOptions{Key: pub})
	require.NoError(t, err)
	reg.ResetRequests()
	proven, err := v.ProvenUpgrades(ctx, cat, "hello", []string{"1.0.0", "1.1.0", "1.2.0", "9.9.9"})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"1.1.0": {"1.0.0"}}, proven)
	bundleReads := 0
	for _, r := range reg.RegistryRequests() {
		if r.Method == http.MethodGet && strings.Contains(r.Path, "/blobs/") {
			bundleReads++
		}
	}
	assert.Equal(t, 2, bundleReads, "one upgrade-test bundle each of 1.1.0 and 1.2.0, no plain signature")
}
