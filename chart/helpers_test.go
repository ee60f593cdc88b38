package chart

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testCharts is testdata/charts at the module root.
func testCharts(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	require.NoError(t, err)
	return filepath.Join(dir, "testdata", "charts")
}

// copyDir copies the tree src to dst (created).
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	require.NoError(t, err)
}

// overlay copies testdata/charts/broken/<name> over dst and removes the paths
// its .delete file lists.
func overlay(t testing.TB, name, dst string) {
	t.Helper()
	src := filepath.Join(testCharts(t), "broken", name)
	copyDir(t, src, dst)
	if data, err := os.ReadFile(filepath.Join(src, ".delete")); err == nil {
		for _, p := range strings.Fields(string(data)) {
			require.NoError(t, os.RemoveAll(filepath.Join(dst, p)))
		}
		require.NoError(t, os.Remove(filepath.Join(dst, ".delete")))
	}
}

// testRepo is a git work tree in a temp directory.
type testRepo struct {
	t    testing.TB
	dir  string
	tick time.Time // committer date of the next commit
}

// newRepo makes an empty git repository named name (its directory name) on
// branch main.
func newRepo(t testing.TB, name string) *testRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	r := &testRepo{t: t, dir: dir, tick: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	r.git("init", "--quiet", "--initial-branch=main")
	return r
}

// helloRepo is a repository "hello" holding the hello chart at its root,
// committed once.
func helloRepo(t testing.TB) *testRepo {
	r := newRepo(t, "hello")
	copyDir(t, filepath.Join(testCharts(t), "hello"), r.dir)
	r.commit("hello chart")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	date := r.tick.Format(time.RFC3339)
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// commit commits everything, one minute after the previous commit.
func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.tick = r.tick.Add(time.Minute)
	r.git("add", "-A")
	r.git("commit", "--quiet", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *testRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(r.t, os.WriteFile(p, []byte(content), 0o644))
}

// filesUnder lists every file below dir (recursively), so
// tests can assert that nothing was written.
func filesUnder(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
