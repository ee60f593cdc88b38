// Package scripts holds the tests of the shell scripts beside it.
package scripts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDistIsReproducible runs `make dist` twice, in two copies of the work tree at
// different paths, and compares every byte: the archives and SHA256SUMS. Both builds share
// Go's build cache (which -trimpath makes independent of the checkout's path), so the
// second one mostly links; the archive step runs in full both times.
// CHARTSHIP_DIST_PLATFORMS narrows the platforms (default: all four of `make dist`).
func TestDistIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the release binaries twice: not in -short")
	}
	root := repoRoot(t)
	version := "v0.0.0-test." + strings.TrimSpace(gitOut(t, root, "rev-parse", "--short", "HEAD"))
	epoch := strings.TrimSpace(gitOut(t, root, "log", "-1", "--format=%ct"))
	platforms := os.Getenv("CHARTSHIP_DIST_PLATFORMS")

	// Both copies first: the work tree may change while the first build runs.
	trees := []string{copyTree(t, root, filepath.Join(t.TempDir(), "copy")), copyTree(t, root, filepath.Join(t.TempDir(), "copy-again"))}
	var outs []string
	for i, tree := range trees {
		start := time.Now()
		cmd := exec.Command("make", "-C", tree, "dist", "VERSION="+version)
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+epoch)
		if platforms != "" {
			cmd.Env = append(cmd.Env, "DIST_PLATFORMS="+platforms)
		}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "make dist: %s", out)
		t.Logf("make dist #%d in %s: %.1fs", i+1, tree, time.Since(start).Seconds())
		outs = append(outs, filepath.Join(tree, "build", "dist"))
	}

	a, b := listDir(t, outs[0]), listDir(t, outs[1])
	require.Equal(t, a, b)
	want := 4
	if platforms != "" {
		want = len(strings.Fields(platforms))
	}
	require.Len(t, a, want+1, "an archive per platform and SHA256SUMS: %v", a)
	for _, name := range a {
		x, err := os.ReadFile(filepath.Join(outs[0], name))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(outs[1], name))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(x, y), "%s differs between the two builds", name)
	}

	// SHA256SUMS is sha256sum's format over the archives, and the version is stamped.
	sums, err := os.ReadFile(filepath.Join(outs[0], "SHA256SUMS"))
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		require.True(t, ok, line)
		data, err := os.ReadFile(filepath.Join(outs[0], name))
		require.NoError(t, err)
		h := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(h[:]), sum, name)
		assert.True(t, strings.HasPrefix(name, "chartship_"+version+"_"), name)
	}
	native := "chartship_" + version + "_" + goEnv(t, "GOOS") + "_" + goEnv(t, "GOARCH")
	if slices.Contains(a, native+".tar.gz") {
		x := t.TempDir()
		out, err := exec.Command("tar", "-xzf", filepath.Join(outs[0], native+".tar.gz"), "-C", x).CombinedOutput()
		require.NoError(t, err, "%s", out)
		listing, err := exec.Command("tar", "-tvzf", filepath.Join(outs[0], native+".tar.gz")).CombinedOutput()
		require.NoError(t, err)
		for _, l := range strings.Split(strings.TrimSpace(string(listing)), "\n") {
			assert.Contains(t, l, " 0/0 ", "owner and group 0: %s", l)
		}
		ver, err := exec.Command(filepath.Join(x, native, "chartship"), "--version").CombinedOutput()
		require.NoError(t, err, "%s", ver)
		assert.Contains(t, string(ver), version)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "go.mod"))
	return dir
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	require.NoError(t, err, "git %v", args)
	return string(out)
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// copyTree copies the work tree's files (tracked and untracked, not ignored) to dst.
func copyTree(t *testing.T, root, dst string) string {
	t.Helper()
	files := strings.Split(strings.TrimRight(gitOut(t, root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00"), "\x00")
	for _, f := range files {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		require.NoError(t, err)
		target := filepath.Join(dst, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(target), 0o755))
		if fi.Mode()&os.ModeSymlink != 0 {
			link, err := os.Readlink(src)
			require.NoError(t, err)
			require.NoError(t, os.Symlink(link, target))
			continue
		}
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(target, data, fi.Mode().Perm()))
	}
	return dst
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
