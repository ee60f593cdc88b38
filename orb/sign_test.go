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
	"github.com/chartship/chartship/sign"
)

// The orb signs and verifies as its scripts say: release on a tag with the cosign key in
// the variable cosign-key-var names (its password in COSIGN_PASSWORD, as a context gives
// them) pushes a signed chart to the in-process registry; the orb's verify passes with the
// public key and prints what it verified, fails (exit 2) with another key's public key
// saying the signature does not verify with that key, and with require-upgrade-test fails
// for the chart released without an upgrade test (no attestation).
func TestOrbSignsAndVerifies(t *testing.T) {
	bin := install(t, releaseServer(t))
	reg := registrytest.New(t)
	key, pub := signtest.KeyPair(t, t.TempDir(), "orb-pw")
	_, otherPub := signtest.KeyPair(t, t.TempDir(), "other-pw")
	pem, err := os.ReadFile(key)
	require.NoError(t, err)

	app := filepath.Join(t.TempDir(), "hello")
	require.NoError(t, os.CopyFS(app, os.DirFS("../testdata/charts/hello")))
	env := circleEnv(t, bin)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = app, env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	git("init", "--quiet", "--initial-branch=main")
	git("add", "-A")
	git("commit", "--quiet", "-m", "hello chart")
	git("tag", "v1.0.0")
	tmp := t.TempDir()
	env = append(env, "CIRCLE_SHA1="+git("rev-parse", "HEAD"), "CIRCLE_BRANCH=main", "CIRCLE_TAG=v1.0.0",
		"CIRCLE_WORKING_DIRECTORY="+app, "TMPDIR="+tmp,
		"ORBTEST_COSIGN_KEY="+string(pem), "COSIGN_PASSWORD=orb-pw")

	_, _, err = script(t, "release").run(t, app, env, map[string]string{
		"catalogs": reg.Ref("charts"), "upgrade-test": "false", "cosign-key-var": "ORBTEST_COSIGN_KEY",
		"results": t.TempDir(), "extra-args": "--plain-http"})
	require.NoError(t, err)
	leftovers, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, leftovers, "the release leaves no copy of the private key behind")

	ref := reg.Ref("charts") + "/hello:1.0.0"
	// verify runs without the signer's secrets, as a separate job would.
	verifyEnv := slices.DeleteFunc(slices.Clone(env), func(s string) bool {
		return strings.HasPrefix(s, "ORBTEST_COSIGN_KEY=") || strings.HasPrefix(s, "COSIGN_PASSWORD=")
	})
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
