package catalog

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/gittest"
)

// TestGitTreeEditMatchesMktree checks the tree splice against git's own mktree:
// same bytes (so the same object id) for inserts, replacements and deletions,
// including names git orders differently from a plain byte sort (a folder "a"
// sorts as "a/", after the file "a.b" and before "a0").
func TestGitTreeEditMatchesMktree(t *testing.T) {
	repoDir := t.TempDir()
	gittest.Git(t, "", "init", "-q", "--bare", repoDir)
	var lastID string
	mktree := func(entries []string) []byte {
		cmd := exec.Command("git", "mktree", "--missing")
		cmd.Dir = repoDir
		cmd.Env = gittest.Env()
		cmd.Stdin = strings.NewReader(strings.Join(entries, "\n") + "\n")
		out, err := cmd.Output()
		require.NoError(t, err)
		lastID = strings.TrimSpace(string(out))
		raw := gittest.Git(t, repoDir, "cat-file", "tree", lastID)
		return []byte(raw)
	}
	oid := func(n int) string { return fmt.Sprintf("%040x", n) }
	blob := func(name string, n int) string { return "100644 blob " + oid(n) + "\t" + name }
	tree := func(name string, n int) string { return "040000 tree " + oid(n) + "\t" + name }
	raw := func(n int) []byte { b, _ := hex.DecodeString(oid(n)); return b }

	old := []string{blob("a.b", 1), tree("a0-meta", 2), blob("index.yaml", 3), blob("z.tgz", 4), tree("z.tgz-meta", 5), blob("x.tgz", 6)}
	base := mktree(old)
	got, err := gitTreeEdit(base, 20, map[string]*gitTreeEntry{
		"a":          {mode: "40000", name: "a", oid: raw(10)},        // folder between a.b and a0-meta
		"a-1.tgz":    {mode: "100644", name: "a-1.tgz", oid: raw(11)}, // before a.b
		"index.yaml": {mode: "100644", name: "index.yaml", oid: raw(12)},
		"x.tgz":      nil,                                        // deleted
		"nothere":    nil,                                        // deleting a missing name is no error
		"zz":         {mode: "100644", name: "zz", oid: raw(13)}, // appended
	})
	require.NoError(t, err)
	want := mktree([]string{blob("a.b", 1), tree("a0-meta", 2), blob("z.tgz", 4), tree("z.tgz-meta", 5),
		tree("a", 10), blob("a-1.tgz", 11), blob("index.yaml", 12), blob("zz", 13)})
	assert.Equal(t, want, got)

	// From an empty tree (a new catalog).
	got, err = gitTreeEdit(nil, 20, map[string]*gitTreeEntry{"index.yaml": {mode: "100644", name: "index.yaml", oid: raw(1)}})
	require.NoError(t, err)
	assert.Equal(t, mktree([]string{blob("index.yaml", 1)}), got)

	id, err := gitObjectID("tree", got, 20)
	require.NoError(t, err)
	assert.Equal(t, lastID, hex.EncodeToString(id), "the object id git gives the tree")

	_, err = gitTreeEdit(base[:len(base)-3], 20, nil)
	assert.Error(t, err, "a truncated tree")
	_, err = gitTreeEdit(base, 20, map[string]*gitTreeEntry{"a/b": {mode: "100644", name: "a/b", oid: raw(1)}})
	assert.Error(t, err, "a name with a slash")
}

// TestGitPublishFetchesNoSubtree publishes into a catalog of 30 -meta/ folders
// over HTTP with a user config that turns off sparse reachability (git < 2.27's
// default). The push must still not walk into the -meta/ folders it doesn't
// touch: in the partial clone each one would be fetched, one request at a time.
func TestGitPublishFetchesNoSubtree(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	require.NoError(t, os.WriteFile(cfg, []byte("[pack]\n\tuseSparse = false\n"), 0o644))
	t.Setenv("GIT_CONFIG_GLOBAL", cfg)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "catalog.git")
	bare := srv.Dir("catalog.git")
	gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
	files := map[string]string{"index.yaml": emptyIndex(t)}
	for k := range 30 {
		files[fmt.Sprintf("old-1.%d.0.tgz-meta/main.yaml", k)] = fmt.Sprintf("chartFile: old-1.%d.0.tgz\n", k)
	}
	gittest.Seed(t, bare, files, "seed")

	c, err := Open("git+"+url, testGitOptions())
	require.NoError(t, err)
	before := srv.Requests()
	res, err := c.Publish(context.Background(), testPackage(t, t.TempDir(), "hello", "1.2.3"))
	require.NoError(t, err)
	assert.Equal(t, Published, res.Status)
	// ls-remote, clone, the index blob, push: a handful of requests, not 30 more.
	assert.Less(t, srv.Requests()-before, int64(15))
	assert.Equal(t, "chartFile: old-1.7.0.tgz\n", show(t, bare, "old-1.7.0.tgz-meta/main.yaml"))
}
