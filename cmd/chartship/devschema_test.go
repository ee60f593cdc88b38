package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/gittest"
)

// TestPackageDevSchemaAndNobuild: .chartship.yaml devSchema selects the legacy
// schema, --dev-schema wins over it, a bad value names the file, and a commit on
// a nobuild/ branch builds nothing and exits 0.
func TestPackageDevSchemaAndNobuild(t *testing.T) {
	clearCIEnv(t)
	dir := helloCopy(t, "hello")
	gittest.Git(t, dir, "init", "--quiet", "--initial-branch=my-feature")
	gittest.Git(t, dir, "add", "-A")
	gittest.Git(t, dir, "commit", "--quiet", "-m", "one")

	dest := t.TempDir()
	code, stdout, stderr := chartship(t, "package", dir, "-d", dest, "-o", "json")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `"version": "0\.0\.1-r7b5b4fa7t\d{14}h[0-9a-f]{7}"`, stdout)

	require.NoError(t, os.WriteFile(filepath.Join(dir, ".chartship.yaml"), []byte("devSchema: legacy\n"), 0o644))
	code, stdout, stderr = chartship(t, "package", dir, "-d", dest, "-o", "json")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `"version": "0\.0\.1-dev\.my-feature\.\d{14}\.h[0-9a-f]{7}"`, stdout)
	code, stdout, stderr = chartship(t, "package", dir, "-d", dest, "-o", "json", "--dev-schema", "rfc")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `"version": "0\.0\.1-r7b5b4fa7t`, stdout)

	require.NoError(t, os.WriteFile(filepath.Join(dir, ".chartship.yaml"), []byte("devSchema: semver\n"), 0o644))
	code, _, stderr = chartship(t, "package", dir, "-d", dest)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, ".chartship.yaml: devSchema: \"semver\"")
	// a bad file is reported first (.chartship.yaml is read whole, strictly); with a good one, the flag
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".chartship.yaml"), []byte("devSchema: legacy\n"), 0o644))
	code, _, stderr = chartship(t, "package", dir, "-d", dest, "--dev-schema", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `dev version schema "nope"`)
	require.NoError(t, os.Remove(filepath.Join(dir, ".chartship.yaml")))

	empty := t.TempDir()
	gittest.Git(t, dir, "checkout", "--quiet", "-b", "nobuild/i-dont-care")
	code, stdout, stderr = chartship(t, "package", dir, "-d", empty)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "Skipped: branch nobuild/i-dont-care")
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is built")
	code, stdout, _ = chartship(t, "package", dir, "-d", empty, "-o", "json")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, `"skipped":`)
}
