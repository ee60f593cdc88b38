package gitops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/chartship/chartship/internal/errdef"
	gitcli "github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/redact"
)

// GitAuth are HTTP(S) credentials for git remotes. For GitHub use the user
// "x-access-token" and a token as password.
type GitAuth struct {
	Username string
	Password string
}

// Signature is a commit author.
type Signature struct {
	Name  string
	Email string
}

// DefaultAuthor signs commits when no author is given.
var DefaultAuthor = Signature{Name: "chartship", Email: "chartship@users.noreply.github.com"}

// remote is a repository to clone and push to.
type remote struct {
	url     string // what git is given: no credentials in it
	display string // for people and logs
	local   string // the directory, when the repository is a local path
	auth    GitAuth
}

// parseRemote accepts a local path, git+https://, https://, http://, file://,
// ssh:// and scp-like git@host:path references. Credentials in the URL are
// taken out of it and sent as an HTTP header instead, never on a command line.
func parseRemote(ref string, auth GitAuth) (remote, error) {
	if ref == "" {
		return remote{}, errdef.Usage(errors.New("empty repository: give --repo URL|PATH"))
	}
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		abs, _ := filepath.Abs(ref)
		return remote{url: abs, display: abs, local: abs}, nil
	}
	raw := strings.TrimPrefix(ref, "git+")
	if strings.HasPrefix(raw, "https://") || strings.HasPrefix(raw, "http://") {
		u, err := url.Parse(raw)
		if err != nil {
			return remote{}, errdef.Usage(fmt.Errorf("repository %s: %v", redact.URL(ref), err))
		}
		if u.User != nil {
			pw, _ := u.User.Password()
			if auth.Username == "" && auth.Password == "" {
				auth = GitAuth{Username: u.User.Username(), Password: pw}
				if pw == "" { // https://TOKEN@host
					auth = GitAuth{Username: "x-access-token", Password: u.User.Username()}
				}
			}
			u.User = nil
		}
		return remote{url: u.String(), display: u.String(), auth: auth}, nil
	}
	if strings.HasPrefix(raw, "file://") || strings.HasPrefix(raw, "ssh://") || strings.Contains(raw, "@") && strings.Contains(raw, ":") {
		return remote{url: raw, display: redact.URL(raw), auth: auth}, nil
	}
	return remote{}, errdef.Usage(fmt.Errorf("repository %q is neither a directory nor a git URL (git+https://HOST/ORG/REPO.git, https://…, file://…, ssh://…)", redact.URL(ref)))
}

// git runs the git CLI (internal/git: credentials through a helper that reads
// them from the environment, never on a command line) in one working directory.
type git struct {
	repo   *gitcli.Repo
	remote remote
	log    *slog.Logger
	// retryLimit bounds the retries of one transfer; retries counts them all.
	retryLimit, retries int
}

func newGit(dir string, r remote, opts BumpOptions) *git {
	author, committer := opts.Author, opts.Committer
	if committer.Name == "" {
		committer = author
	}
	return &git{remote: r, log: opts.Logger, retryLimit: opts.Retries, repo: &gitcli.Repo{
		Dir:          dir,
		Auth:         gitcli.Auth{Username: r.auth.Username, Token: r.auth.Password},
		Sign:         opts.Sign,
		StallTimeout: opts.RequestTimeout,
		Env: []string{
			"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email,
			"GIT_COMMITTER_NAME=" + committer.Name, "GIT_COMMITTER_EMAIL=" + committer.Email,
		},
	}}
}

// run runs git and returns its trimmed stdout. Errors name the repository and
// carry git's stderr with every credential masked.
func (g *git) run(ctx context.Context, args ...string) (string, error) {
	out, err := g.repo.Run(ctx, args...)
	if err != nil {
		return "", fmt.Errorf("%s: %w", g.remote.display, err)
	}
	return strings.TrimSpace(out), nil
}

// clone clones r into dir and returns the default branch.
// Transient failures are retried (transfer).
func clone(ctx context.Context, r remote, dir string, opts BumpOptions) (*git, string, error) {
	g := newGit(filepath.Dir(dir), r, opts)
	if _, err := g.transfer(ctx, "clone", clearDir(dir), "clone", "--quiet", "--no-tags", "--depth=1", "--no-single-branch", r.url, dir); err != nil {
		if gitcli.IsAuthFailure(err) { // transfer said what to check
			return nil, "", errdef.External(fmt.Errorf("clone the GitOps repository: %w", err))
		}
		return nil, "", errdef.External(fmt.Errorf("clone the GitOps repository: %w; check the URL and the credentials ($CHARTSHIP_GIT_TOKEN or $GITHUB_TOKEN)", err))
	}
	g.repo.Dir = dir
	branch, err := g.run(ctx, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		return nil, "", errdef.External(fmt.Errorf("the GitOps repository %s has no default branch (empty repository?): %w", r.display, err))
	}
	return g, branch, nil
}

// remoteHas reports whether origin has branch.
func (g *git) remoteHas(ctx context.Context, branch string) bool {
	_, err := g.run(ctx, "rev-parse", "--verify", "--quiet", "refs/remotes/origin/"+branch)
	return err == nil
}

// commitMessage stages files and commits them with message.
func (g *git) commitMessage(ctx context.Context, files []string, message string) (string, error) {
	if _, err := g.run(ctx, append([]string{"add", "--"}, files...)...); err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "chartship-msg-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(message); err != nil {
		f.Close()
		return "", err
	}
	f.Close()
	if _, err := g.run(ctx, "commit", g.repo.Sign.SignArg(), "--quiet", "--no-verify", "--cleanup=strip", "-F", f.Name()); err != nil {
		return "", g.repo.Sign.Explain(err)
	}
	return g.run(ctx, "rev-parse", "HEAD")
}
