package gitops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/githubtest"
	"github.com/chartship/chartship/internal/gittest"
)

const (
	gitUser  = "fleet-bot"
	gitToken = "s3cr3t-git-token"
	ghToken  = "ghp_s3cr3t-api-token"
)

// fleet serves a GitOps repository seeded with testdata/gitops/<golden>/original
// over smart HTTP with basic auth, and a GitHub API double over the same repos.
type fleet struct {
	git  *gittest.Server
	gh   *githubtest.Server
	url  string // repository URL, without credentials
	bare string
}

func newFleet(t *testing.T, golden string) *fleet {
	t.Helper()
	f := &fleet{git: gittest.NewServer(t, gittest.WithBasicAuth(gitUser, gitToken))}
	f.url = f.git.NewRepo(t, "acme/fleet.git")
	f.bare = f.git.Dir("acme/fleet.git")
	files := map[string]string{}
	for name, content := range readTree(t, filepath.Join("..", "testdata", "gitops", golden, "original")) {
		files[name] = content
	}
	gittest.Seed(t, f.bare, files, "initial fleet")
	f.gh = githubtest.New(t, f.git.Root, ghToken)
	return f
}

// show returns a file's content on a branch of the bare repository.
func (f *fleet) show(t *testing.T, branch, file string) string {
	t.Helper()
	return gittest.Git(t, f.bare, "show", branch+":"+file)
}

func (f *fleet) opts() BumpOptions {
	o := DefaultBumpOptions()
	o.Auth, o.GitHub = GitAuth{Username: gitUser, Password: gitToken}, GitHubOptions{Token: ghToken, APIURL: f.gh.URL}
	return o
}

func expectedFile(t *testing.T, golden, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "gitops", golden, "expected", filepath.FromSlash(file)))
	require.NoError(t, err)
	return string(b)
}

func TestBumpOpensThenUpdatesOnePullRequest(t *testing.T) {
	f := newFleet(t, "app-marker")
	ctx := context.Background()
	mainBefore := gittest.Git(t, f.bare, "rev-parse", "main")

	opts := f.opts()
	opts.PR = true
	res, err := Bump(ctx, "git+"+f.url, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.NoError(t, err)
	require.NotNil(t, res.PullRequest)
	assert.Equal(t, "opened", res.PullRequest.Action)
	assert.Equal(t, "chartship/bump-hello-world-1.3.0", res.Branch)
	assert.Equal(t, expectedFile(t, "app-marker", "apps/hello-world.yaml"), f.show(t, res.Branch, "apps/hello-world.yaml"))
	assert.Equal(t, mainBefore, gittest.Git(t, f.bare, "rev-parse", "main"), "main must not move in PR mode")
	pulls := f.gh.Pulls("acme", "fleet")
	require.Len(t, pulls, 1)
	assert.Equal(t, "chore: bump hello-world to 1.3.0", pulls[0].Title)
	assert.Contains(t, pulls[0].Body, "apps/hello-world.yaml:24: 1.2.0 → 1.3.0 (ImagePolicy default/hello-world")
	assert.Equal(t, "main", pulls[0].Base)
	msg := gittest.Git(t, f.bare, "log", "-1", "--format=%an <%ae>%n%B", res.Branch)
	assert.Contains(t, msg, "chartship <chartship@users.noreply.github.com>\nchore: bump hello-world to 1.3.0")

	// A newer release while the PR is open: the same PR (and branch) is updated.
	res2, err := Bump(ctx, "git+"+f.url, Request{Chart: "hello-world", Version: "1.4.0", Available: []string{"1.3.0"}}, opts)
	require.NoError(t, err)
	require.NotNil(t, res2.PullRequest)
	assert.Equal(t, "updated", res2.PullRequest.Action)
	assert.Equal(t, res.PullRequest.Number, res2.PullRequest.Number)
	assert.Equal(t, res.Branch, res2.Branch)
	pulls = f.gh.Pulls("acme", "fleet")
	require.Len(t, pulls, 1, "no duplicate pull request")
	assert.Equal(t, "chore: bump hello-world to 1.4.0", pulls[0].Title)
	assert.Contains(t, f.show(t, res.Branch, "apps/hello-world.yaml"), `version: 1.4.0 # {"$imagepolicy": "default:hello-world:tag"}`)
	// The branch is rebuilt from main: one commit on top of it.
	assert.Equal(t, "1", strings.TrimSpace(gittest.Git(t, f.bare, "rev-list", "--count", "main.."+res.Branch)))
}

func TestBumpPushToBranch(t *testing.T) {
	f := newFleet(t, "helmrelease-ocirepository")
	ctx := context.Background()
	opts := f.opts()
	opts.PushTo = "main"
	req := Request{Chart: "hello-world", Version: "1.3.1", Registry: "oci://gsoci.azurecr.io/charts/giantswarm", Available: []string{"1.3.0", "2.0.0"}}
	res, err := Bump(ctx, f.url, req, opts)
	require.NoError(t, err)
	assert.Equal(t, StatusPushed, res.Status)
	assert.Equal(t, expectedFile(t, "helmrelease-ocirepository", "flux/hello.yaml"), f.show(t, "main", "flux/hello.yaml"))
	assert.Equal(t, res.Commit, strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main")))
	assert.Len(t, res.Plan.Changes, 2)
	assert.Empty(t, res.Plan.Left)
	var ranges []string
	for _, st := range res.Plan.Stages {
		if st.Ref.SemVer != "" {
			ranges = append(ranges, st.Object)
		}
	}
	assert.Len(t, ranges, 2, "the range HelmRelease and the semver OCIRepository are in the stage plan: %v", res.Plan.Stages)

	again, err := Bump(ctx, f.url, req, opts)
	require.NoError(t, err)
	assert.Equal(t, StatusUpToDate, again.Status)
	assert.Equal(t, res.Commit, strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main")))
	assert.Empty(t, f.gh.Calls(), "no GitHub API call without --pr")
}

func TestBumpDryRunWritesNothing(t *testing.T) {
	f := newFleet(t, "app-marker")
	opts := f.opts()
	opts.DryRun, opts.PR = true, true
	opts.GitHub = GitHubOptions{} // a dry run needs no GitHub token
	before := gittest.Git(t, f.bare, "for-each-ref")
	res, err := Bump(context.Background(), f.url, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.NoError(t, err)
	assert.Equal(t, StatusPlanned, res.Status)
	require.Len(t, res.Plan.Changes, 1)
	c := res.Plan.Changes[0]
	assert.Equal(t, Change{File: "apps/hello-world.yaml", Line: 24, Kind: KindApp, Object: "App org-acme/hello-world", Field: "spec.version",
		Marker: "default:hello-world:tag", Old: "1.2.0", New: "1.3.0",
		Policy: `ImagePolicy default/hello-world (apps/hello-world.yaml:2): semver >=1.0.0 <2.0.0 (filter "^v?(?P<version>.*)$" extract "$version")`,
		Image:  "ImageRepository default/hello-world (apps/hello-world.yaml:10): gsoci.azurecr.io/charts/giantswarm/hello-world"}, c)
	assert.Equal(t, before, gittest.Git(t, f.bare, "for-each-ref"))
	assert.Empty(t, f.gh.Pulls("acme", "fleet"))
}

func TestBumpBadInputBumpsTheRest(t *testing.T) {
	f := newFleet(t, "bad-input")
	opts := f.opts()
	opts.PushTo = "main"
	res, err := Bump(context.Background(), f.url, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.ErrorIs(t, err, ErrBadInput)
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "broken.yaml:4")
	require.NotNil(t, res)
	assert.Equal(t, StatusPushed, res.Status)
	for _, file := range []string{"good.yaml", "broken.yaml", "missing-policy.yaml", "bad-range.yaml"} {
		assert.Equal(t, expectedFile(t, "bad-input", file), f.show(t, "main", file), file)
	}
}

func TestBumpErrorsNeverLeakSecrets(t *testing.T) {
	f := newFleet(t, "app-marker")
	ctx := context.Background()

	// Wrong git password: an external error without the password.
	opts := f.opts()
	opts.Auth.Password = "wrong-password-123"
	_, err := Bump(ctx, f.url, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.NotContains(t, err.Error(), "wrong-password-123")

	// Credentials in the URL work, and never show.
	u := strings.Replace(f.url, "://", "://"+gitUser+":"+gitToken+"@", 1)
	opts = BumpOptions{DryRun: true}
	res, err := Bump(ctx, "git+"+u, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.NoError(t, err)
	assert.NotContains(t, res.Repo, gitToken)
	assert.Len(t, res.Plan.Changes, 1)

	// Bad GitHub token: 401 Bad credentials.
	opts = f.opts()
	opts.PR = true
	opts.GitHub.Token = "ghp_wrong"
	_, err = Bump(ctx, f.url, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.Contains(t, err.Error(), "401 Bad credentials")
	assert.NotContains(t, err.Error(), "ghp_wrong")

	// Unknown GitHub repository: 404 Not Found.
	opts.GitHub.Token, opts.GitHub.Repo = ghToken, "acme/nope"
	_, err = Bump(ctx, f.url, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.Contains(t, err.Error(), "404 Not Found")
}

// A pull request for the branch opened by someone else between our look-up and
// our create: GitHub answers 422 "A pull request already exists"; we update it.
func TestPullRequestAlreadyExists(t *testing.T) {
	f := newFleet(t, "app-marker")
	ctx := context.Background()
	work := t.TempDir()
	gittest.Git(t, "", "clone", "--quiet", f.bare, work)
	require.NoError(t, os.WriteFile(filepath.Join(work, "x.yaml"), []byte("a: 1\n"), 0o644))
	gittest.Git(t, work, "add", "x.yaml")
	gittest.Git(t, work, "commit", "--quiet", "-m", "x")
	gittest.Git(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/topic")
	n := f.gh.AddPull(githubtest.PullRequest{Owner: "acme", Repo: "fleet", Title: "theirs", Head: "topic", Base: "main"})

	c, err := newPRClient(GitHubOptions{Token: ghToken, APIURL: f.gh.URL}, f.url)
	require.NoError(t, err)
	pr, err := c.openOrUpdate(ctx, nil, "main", "topic", "ours", "body")
	require.NoError(t, err)
	assert.Equal(t, PullRequest{Number: n, URL: "https://github.test/acme/fleet/pull/1", Action: "updated"}, pr)
	assert.Equal(t, "ours", f.gh.Pulls("acme", "fleet")[0].Title)

	// No such head branch: 422 Validation Failed, an external error.
	_, err = c.openOrUpdate(ctx, nil, "main", "no-such-branch", "t", "b")
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.Contains(t, err.Error(), "422 Validation Failed")
}

func TestBumpLocalRepository(t *testing.T) {
	// A local working copy: dry run plans the directory as it is; a real run
	// clones it and pushes the bump branch back into it.
	dir := t.TempDir()
	copyTree(t, filepath.Join("..", "testdata", "gitops", "app-marker", "original"), dir)
	gittest.Git(t, dir, "init", "--quiet", "--initial-branch=main")
	gittest.Git(t, dir, "add", "-A")
	gittest.Git(t, dir, "commit", "--quiet", "-m", "init")

	res, err := Bump(context.Background(), dir, Request{Chart: "hello-world", Version: "1.3.0"}, BumpOptions{DryRun: true})
	require.NoError(t, err)
	assert.Len(t, res.Plan.Changes, 1)

	plain := t.TempDir()
	_, err = Bump(context.Background(), plain, Request{Chart: "hello-world", Version: "1.3.0"}, BumpOptions{})
	require.ErrorIs(t, err, errdef.ErrUsage, "a directory that is not a git repository")

	res, err = Bump(context.Background(), dir, Request{Chart: "hello-world", Version: "1.3.0"}, BumpOptions{})
	require.NoError(t, err)
	assert.Equal(t, StatusPushed, res.Status)
	assert.Equal(t, expectedFile(t, "app-marker", "apps/hello-world.yaml"), gittest.Git(t, dir, "show", res.Branch+":apps/hello-world.yaml"))
	b, _ := os.ReadFile(filepath.Join(dir, "apps", "hello-world.yaml"))
	assert.Contains(t, string(b), "version: 1.2.0", "the working tree is not touched")
}

// Someone pushes to the branch between our clone and our push: the push is
// rejected as non-fast-forward, and the bump is rebuilt on the new tip.
func TestBumpPushToRetriesWhenTheBranchMoves(t *testing.T) {
	f := newFleet(t, "app-marker")
	opts := f.opts()
	opts.PushTo = "main"
	var theirs string
	opts.beforePush = func(attempt int) {
		if attempt == 1 {
			theirs = gittest.Seed(t, f.bare, map[string]string{"apps/new.yaml": "kind: ConfigMap\n"}, "someone else")
		}
	}
	res, err := Bump(context.Background(), f.url, Request{Chart: "hello-world", Version: "1.3.0"}, opts)
	require.NoError(t, err)
	assert.Equal(t, StatusPushed, res.Status)
	assert.Equal(t, theirs, strings.TrimSpace(gittest.Git(t, f.bare, "rev-parse", "main~1")), "our commit sits on top of theirs")
	assert.Equal(t, expectedFile(t, "app-marker", "apps/hello-world.yaml"), f.show(t, "main", "apps/hello-world.yaml"))
	assert.Equal(t, "kind: ConfigMap\n", f.show(t, "main", "apps/new.yaml"))
}
