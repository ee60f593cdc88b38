package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/testcluster"
)

// monorepo commits a git repository with charts/NAME for each name: a copy of
// the chart in src (named hello) renamed NAME.
func monorepo(t *testing.T, src string, names ...string) string {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	repo := filepath.Join(t.TempDir(), "mono")
	for _, name := range names {
		dir := filepath.Join(repo, "charts", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(dir), 0o755))
		require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
		b, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(strings.Replace(string(b), "name: hello", "name: "+name, 1)), 0o644))
	}
	gittest.Git(t, "", "init", "--quiet", "--initial-branch=main", repo)
	gittest.Git(t, repo, "add", "-A")
	gittest.Git(t, repo, "commit", "--quiet", "-m", "two charts")
	return repo
}

// TestMonorepoChanged: in a repository with charts/hello and charts/world, each
// named after its directory and tagged {chart}/vX.Y.Z, --changed packages (and
// plans a release of) only the charts changed since their last release tag, or
// since --since.
func TestMonorepoChanged(t *testing.T) {
	clearCIEnv(t)
	repo := monorepo(t, helloCopy(t, "hello"), "hello", "world")
	gittest.Git(t, repo, "tag", "hello/v1.0.0")
	gittest.Git(t, repo, "tag", "world/v2.0.0")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "charts", "world", "NOTES.md"), []byte("more\n"), 0o644))
	gittest.Git(t, repo, "add", "-A")
	gittest.Git(t, repo, "commit", "--quiet", "-m", "change world")

	dest := t.TempDir()
	pkgs := func(args ...string) []map[string]string {
		t.Helper()
		code, stdout, stderr := chartship(t, append([]string{"-o", "json", "package", repo, "--changed", "--tag-prefix", "{chart}/v", "-d", dest}, args...)...)
		require.Equal(t, exitOK, code, stderr)
		var out []map[string]string
		require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
		return out
	}
	out := pkgs()
	require.Len(t, out, 1, "only world changed since world/v2.0.0")
	assert.Equal(t, "world", out[0]["name"], "named after its directory, no --allow-name-mismatch")
	assert.True(t, strings.HasPrefix(out[0]["version"], "2.0.1-"), "a dev build after world/v2.0.0: %s", out[0]["version"])

	out = pkgs("--since", "HEAD~1")
	require.Len(t, out, 1)
	assert.Equal(t, "world", out[0]["name"])

	// world released at HEAD: nothing changed since either chart's last release
	gittest.Git(t, repo, "tag", "world/v2.1.0")
	assert.Empty(t, pkgs(), "nothing changed since either chart's last release")

	// a release of what changed since the first commit: world only, versioned from its own tag
	code, stdout, stderr := chartship(t, "-o", "json", "release", repo, "--changed", "--since", "HEAD~1", "--tag-prefix", "{chart}/v",
		"--dry-run", "--to", "oci://registry.example/charts", "--skip-upgrade-test")
	require.Equal(t, exitOK, code, stderr)
	var plans []struct{ Chart, Version string }
	require.NoError(t, json.Unmarshal([]byte(stdout), &plans), stdout)
	require.Len(t, plans, 1)
	assert.Equal(t, "world", plans[0].Chart)
	assert.Equal(t, "2.1.0", plans[0].Version, "from the tag world/v2.1.0")

	code, _, stderr = chartship(t, "package", repo, "--since", "HEAD~1")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--since goes with --changed")
}

// TestMonorepoUpgradeTestChanged: upgrade-test --changed tests the changed charts only.
func TestMonorepoUpgradeTestChanged(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	repo := monorepo(t, upgradeTestdata("hello-1.1.0"), "hello", "quiet")
	gittest.Git(t, repo, "tag", "quiet/v1.1.0") // released at HEAD: unchanged; hello never released
	code, stdout, stderr := chartship(t, "-o", "json", "upgrade-test", repo, "--changed", "--tag-prefix", "{chart}/v",
		"--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0"), "--skip-tests")
	require.Equal(t, exitOK, code, stderr)
	var reps []struct {
		Chart, To string
		Passed    bool
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &reps), stdout)
	require.Len(t, reps, 1)
	assert.Equal(t, "hello", reps[0].Chart)
	assert.True(t, reps[0].Passed)

	code, _, stderr = chartship(t, "upgrade-test", repo, "--changed", "--junit", "x.xml", "--kubeconfig", kc)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--junit, --result and --attest take one chart's report")
}
