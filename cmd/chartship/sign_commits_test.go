package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/gittest"
)

// TestCommitSigning: commits.signingKey in .chartship.yaml (relative to the
// file) signs the catalog commit; a missing key is exit 1 naming it, nothing
// pushed.
func TestCommitSigning(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	key, allowed := gittest.SSHSigningKey(t)
	dir := taggedHello(t)
	pkgDir := t.TempDir()
	code, _, stderr := chartship(t, "package", dir, "-d", pkgDir, "--version", "1.0.0")
	require.Equal(t, exitOK, code, stderr)
	pkg := filepath.Join(pkgDir, "hello-1.0.0.tgz")

	cfgDir := filepath.Dir(key)
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, ".chartship.yaml"), []byte(
		"commits:\n  signingKey: "+filepath.Base(key)+"\n  signingFormat: ssh\n"), 0o644))
	cat := filepath.Join(t.TempDir(), "catalog.git")
	gittest.InitBare(t, cat)
	code, _, stderr = chartship(t, "publish", pkg, "--to", "git+file://"+cat, "--config-dir", cfgDir)
	require.Equal(t, exitOK, code, stderr)
	out, ok := gittest.VerifyCommit(t, cat, "main", "gpg.ssh.allowedSignersFile="+allowed)
	assert.True(t, ok, "verify-commit: %s", out)

	missing := filepath.Join(t.TempDir(), "id_missing")
	cat2 := filepath.Join(t.TempDir(), "catalog.git")
	gittest.InitBare(t, cat2)
	code, _, stderr = chartship(t, "publish", pkg, "--to", "git+file://"+cat2, "--commit-signing-key", missing)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "commit signing key "+missing)
	assert.Empty(t, strings.TrimSpace(gittest.Git(t, cat2, "for-each-ref")), "nothing pushed")

	garbage := filepath.Join(t.TempDir(), "id_garbage")
	require.NoError(t, os.WriteFile(garbage, []byte("secret material\n"), 0o600))
	code, _, stderr = chartship(t, "publish", pkg, "--to", "git+file://"+cat2, "--commit-signing-key", garbage)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "signing the commit with the SSH key "+garbage+" failed")
	assert.NotContains(t, stderr, "secret material")
	assert.Empty(t, strings.TrimSpace(gittest.Git(t, cat2, "for-each-ref")), "nothing pushed")

	code, _, stderr = chartship(t, "publish", pkg, "--to", "git+file://"+cat2, "--commit-signing-key", key, "--commit-signing-format", "x509")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `"x509"`)
}
