package gitobj

import (
	"encoding/hex"
	"fmt"
	"os/exec"
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
	got, err := treeEdit(base, 20, map[string]*treeEntry{
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
	got, err = treeEdit(nil, 20, map[string]*treeEntry{"index.yaml": {mode: "100644", name: "index.yaml", oid: raw(1)}})
	require.NoError(t, err)
	assert.Equal(t, mktree([]string{blob("index.yaml", 1)}), got)

	id, err := objectID("tree", got, 20)
	require.NoError(t, err)
	assert.Equal(t, lastID, hex.EncodeToString(id), "the object id git gives the tree")

	_, err = treeEdit(base[:len(base)-3], 20, nil)
	assert.Error(t, err, "a truncated tree")
	_, err = treeEdit(base, 20, map[string]*treeEntry{"a/b": {mode: "100644", name: "a/b", oid: raw(1)}})
	assert.Error(t, err, "a name with a slash")
}
