package main

import (
	"os"
	"path/filepath"
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
