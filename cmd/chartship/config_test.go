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

// TestConfigFileUnderFlags: .chartship.yaml sets what flags don't; a flag or its
// variable wins; an unknown key fails naming its line, for every command that reads it.
func TestConfigFileUnderFlags(t *testing.T) {
	dir := taggedHello(t, "v1.4.0")
	write := func(doc string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".chartship.yaml"), []byte(doc), 0o644))
		// the file is part of the work tree: commit it, the tag moves along
		gittest.Git(t, dir, "add", "-A")
		gittest.Git(t, dir, "commit", "--quiet", "--amend", "--no-edit")
		gittest.Git(t, dir, "tag", "-f", "v1.4.0")
	}
	write("package:\n  destination: dist\n  appVersion: chart\n")
	other := t.TempDir()
	code, stdout, stderr := chartship(t, "package", dir, "-d", other)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, filepath.Join(other, "hello-1.4.0.tgz"), "the flag wins")

	env := t.TempDir()
	t.Setenv("CHARTSHIP_DESTINATION", env)
	code, stdout, stderr = chartship(t, "package", dir)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, filepath.Join(env, "hello-1.4.0.tgz"), "the variable wins")
	os.Unsetenv("CHARTSHIP_DESTINATION")

	code, stdout, stderr = chartship(t, "package", dir, "-o", "json")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, filepath.Join(dir, "dist", "hello-1.4.0.tgz"), "the file's, relative to it")
	assert.Contains(t, stdout, `"appVersion": "1.4.0"`)

	write("# setup\ncatalgos:\n  - name: oci\n    oci: oci://registry.example/charts\n")
	for _, args := range [][]string{
		{"package", dir},
		{"release", dir, "--dry-run"},
		{"publish", "x.tgz", "--config-dir", dir},
		{"catalog", "prune", "--to", "test", "--match", "x", "--older-than", "1h", "--config-dir", dir},
	} {
		code, _, stderr = chartship(t, args...)
		assert.Equal(t, exitUsage, code, args)
		assert.Contains(t, stderr, `.chartship.yaml:2: unknown key "catalgos"; did you mean catalogs?`, args)
	}

	// upgrade-test settings from the file reach the command: a bad one is named
	write("upgradeTest:\n  breaking: maybe\n")
	code, _, stderr = chartship(t, "upgrade-test", dir, "--kubeconfig", "/nonexistent")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `upgradeTest.breaking: "maybe": use test, warn, fail`)
}

// TestCommitIdentity: the author and committer of catalog and GitOps commits come
// from .chartship.yaml, under GIT_AUTHOR_*/GIT_COMMITTER_* and the flags.
func TestCommitIdentity(t *testing.T) {
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	dir := taggedHello(t)
	pkgDir := t.TempDir()
	code, _, stderr := chartship(t, "package", dir, "-d", pkgDir, "--version", "1.0.0")
	require.Equal(t, exitOK, code, stderr)
	pkg := filepath.Join(pkgDir, "hello-1.0.0.tgz")
	cfgDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, ".chartship.yaml"), []byte(
		"commits:\n  author: {name: Release Bot, email: bot@acme.example}\n  committer: {name: CI, email: ci@acme.example}\n"), 0o644))

	publish := func(args ...string) string {
		t.Helper()
		cat := filepath.Join(t.TempDir(), "catalog.git")
		gittest.InitBare(t, cat)
		code, _, stderr := chartship(t, append([]string{"publish", pkg, "--to", "git+file://" + cat, "--config-dir", cfgDir}, args...)...)
		require.Equal(t, exitOK, code, stderr)
		return strings.TrimSpace(gittest.Git(t, cat, "log", "-1", "--format=%an <%ae> / %cn <%ce>"))
	}
	assert.Equal(t, "Release Bot <bot@acme.example> / CI <ci@acme.example>", publish())
	assert.Equal(t, "Ann <ann@acme.example> / CI <ci@acme.example>", publish("--commit-author-name", "Ann", "--commit-author-email", "ann@acme.example"))
	code, _, stderr = chartship(t, "publish", pkg, "--to", "git+file:///nonexistent.git", "--commit-author-name", "Half")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--commit-author-name and --commit-author-email go together")
	t.Setenv("GIT_AUTHOR_NAME", "Env")
	t.Setenv("GIT_AUTHOR_EMAIL", "env@acme.example")
	assert.Equal(t, "Env <env@acme.example> / CI <ci@acme.example>", publish())

}
