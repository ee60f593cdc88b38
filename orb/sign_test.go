package orb_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/internal/testcluster"
	"github.com/chartship/chartship/sign"
)

// The orb signs and verifies as its scripts say: release on a tag with the cosign key in
// the variable cosign-key-var names (its password in COSIGN_PASSWORD, as a context gives
// them) pushes a signed chart to the in-process registry; the orb's verify passes with the
// public key and prints what it verified, fails (exit 2) with another key's public key
// saying the signature does not verify with that key, and with require-upgrade-test fails
// for the chart released without an upgrade test (no attestation).
func TestOrbSignsAndVerifies(t *testing.T) {
	s := signedRelease(t, "")
	tmp, app, env, reg, pub := s.tmp, s.app, s.env, s.reg, s.pub
	_, otherPub := signtest.KeyPair(t, t.TempDir(), "other-pw")
	leftovers, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, leftovers, "the release leaves no copy of the private key behind")

	ref := reg.Ref("charts") + "/hello:1.0.0"
	verifyEnv := withoutSecrets(env)
	stdout, _, err := script(t, "verify").run(t, app, verifyEnv, map[string]string{
		"ref": ref, "cosign-key": pub, "extra-args": "--plain-http"})
	require.NoError(t, err)
	assert.Regexp(t, `^`+strings.TrimPrefix(ref, "oci://")+` \(sha256:[0-9a-f]{64}\): signed by key `+pub+"\n", strings.TrimPrefix(stdout, "oci://"))
	assert.Contains(t, stdout, "  verified "+sign.SignPredicateType+"  ")

	// Another key's public key: a check failure naming that key.
	stdout, stderr, err := script(t, "verify").run(t, app, verifyEnv, map[string]string{
		"ref": ref, "cosign-key": otherPub, "extra-args": "--plain-http"})
	assertExit(t, err, 2)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "is not signed by key "+otherPub)
	assert.Contains(t, stderr, "rejected: does not verify with key "+otherPub)

	// Released with upgrade-test: false, so no upgrade-test attestation: require-upgrade-test
	// fails, saying so.
	_, stderr, err = script(t, "verify").run(t, app, verifyEnv, map[string]string{
		"ref": ref, "cosign-key": pub, "require-upgrade-test": "true", "extra-args": "--plain-http --from 0.9.0"})
	assertExit(t, err, 2)
	assert.Contains(t, stderr, "no upgrade-test attestation ("+sign.UpgradeTestPredicateType+") signed by key "+pub)
}

func assertExit(t *testing.T, err error, code int) {
	t.Helper()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "want exit %d, got %v", code, err)
	assert.Equal(t, code, ee.ExitCode())
}

// signing is an app repository whose v1.0.0 the orb's release has pushed, signed, to an
// in-process registry (without an upgrade test).
type signing struct {
	app, tmp string
	env      []string // the job's, with the key in ORBTEST_COSIGN_KEY and COSIGN_PASSWORD
	reg      *registrytest.Registry
	pub      string
	tag      func(tag string) []string // commits and tags, returning the job's environment
}

func signedRelease(t *testing.T, kubeconfig string) signing {
	t.Helper()
	bin := install(t, releaseServer(t))
	s := signing{reg: registrytest.New(t), tmp: t.TempDir()}
	var key string
	key, s.pub = signtest.KeyPair(t, t.TempDir(), "orb-pw")
	pem, err := os.ReadFile(key)
	require.NoError(t, err)

	s.app = filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.CopyFS(s.app, os.DirFS("../testdata/charts/hello")))
	repo := newAppRepo(t, s.app, circleEnv(t, bin))
	s.tag = func(tag string) []string {
		return append(repo.commit("release "+tag, tag), "TMPDIR="+s.tmp, "KUBECONFIG="+kubeconfig,
			"ORBTEST_COSIGN_KEY="+string(pem), "COSIGN_PASSWORD=orb-pw")
	}
	s.env = s.tag("v1.0.0")
	_, _, err = script(t, "release").run(t, s.app, s.env, map[string]string{
		"catalogs": s.reg.Ref("charts"), "upgrade-test": "false", "cosign-key-var": "ORBTEST_COSIGN_KEY",
		"results": t.TempDir(), "extra-args": "--plain-http"})
	require.NoError(t, err)
	return s
}

// withoutSecrets is env without the signer's key and password: verify runs without them,
// as a separate job would.
func withoutSecrets(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(s string) bool {
		return strings.HasPrefix(s, "ORBTEST_COSIGN_KEY=") || strings.HasPrefix(s, "COSIGN_PASSWORD=")
	})
}

// A release upgrade-tested in the test cluster carries the signed upgrade-test
// attestation, and the orb's verify with require-upgrade-test passes, printing the
// upgrade it proves.
func TestOrbVerifiesTheSignedUpgradeTest(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	s := signedRelease(t, kc)
	env := s.tag("v1.1.0")
	_, _, err := script(t, "release").run(t, s.app, env, map[string]string{
		"catalogs": s.reg.Ref("charts"), "cosign-key-var": "ORBTEST_COSIGN_KEY", "results": t.TempDir(),
		"extra-args": "--plain-http --cluster kubeconfig --skip-tests --timeout 2m"})
	require.NoError(t, err)
	stdout, _, err := script(t, "verify").run(t, s.app, withoutSecrets(env), map[string]string{
		"ref": s.reg.Ref("charts") + "/hello:1.1.0", "cosign-key": s.pub, "require-upgrade-test": "true", "extra-args": "--plain-http"})
	require.NoError(t, err)
	assert.Contains(t, stdout, "  verified "+sign.UpgradeTestPredicateType+"  ")
	assert.Regexp(t, `(?m)^  upgrade test passed: hello 1\.1\.0 from 1\.0\.0 on Kubernetes v?\d+\.\d+`, stdout)
}
