package gitops

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/githubtest"
	"github.com/chartship/chartship/internal/gittest"
)

// TestBumpAllParallel bumps five repositories of one git server, two at a
// time, through the GitHub double: one pull request each, results in order,
// and a repository that fails doesn't stop the others.
func TestBumpAllParallel(t *testing.T) {
	srv := gittest.NewServer(t, gittest.WithBasicAuth(gitUser, gitToken))
	files := readTree(t, filepath.Join("..", "testdata", "gitops", "app-marker", "original"))
	var repos []string
	for i := range 5 {
		name := fmt.Sprintf("acme/fleet-%d.git", i)
		url := srv.NewRepo(t, name)
		gittest.Seed(t, srv.Dir(name), files, "initial fleet")
		repos = append(repos, "git+"+url)
	}
	repos = append(repos[:2], append([]string{"git+" + srv.URL + "/acme/missing.git"}, repos[2:]...)...)
	gh := githubtest.New(t, srv.Root, ghToken)
	opts := DefaultBumpOptions()
	opts.Auth, opts.GitHub = GitAuth{Username: gitUser, Password: gitToken}, GitHubOptions{Token: ghToken, APIURL: gh.URL}
	opts.PR = true

	results, errs := BumpAll(context.Background(), repos, Request{Chart: "hello-world", Version: "1.3.0"}, opts, 2)
	require.Len(t, results, 6)
	for i := range repos {
		if i == 2 {
			assert.Error(t, errs[i], "the missing repository fails")
			continue
		}
		require.NoError(t, errs[i], repos[i])
		require.NotNil(t, results[i].PullRequest, repos[i])
		assert.Equal(t, "opened", results[i].PullRequest.Action)
		n := i
		if i > 2 {
			n = i - 1
		}
		pulls := gh.Pulls("acme", fmt.Sprintf("fleet-%d", n))
		require.Len(t, pulls, 1)
		assert.Equal(t, "chore: bump hello-world to 1.3.0", pulls[0].Title)
		assert.Contains(t, gittest.Git(t, srv.Dir(fmt.Sprintf("acme/fleet-%d.git", n)), "show", "chartship/bump-hello-world-1.3.0:apps/hello-world.yaml"), "version: 1.3.0")
	}
}
