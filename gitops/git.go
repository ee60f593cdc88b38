package gitops

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/chartship/chartship/internal/errdef"
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

// git runs the git CLI in one working directory.
type git struct {
	dir    string
	remote remote
	author Signature
}

func (g *git) env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_CONFIG_") {
			env = append(env, kv)
		}
	}
	env = append(env, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+g.author.Name, "GIT_AUTHOR_EMAIL="+g.author.Email,
		"GIT_COMMITTER_NAME="+g.author.Name, "GIT_COMMITTER_EMAIL="+g.author.Email)
	if a := g.remote.auth; a.Username != "" || a.Password != "" {
		// The header travels in the environment: not in argv, not in .git/config.
		basic := base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password))
		env = append(env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader",
			"GIT_CONFIG_VALUE_0=Authorization: Basic "+basic)
	}
	return env
}

// run runs git and returns its trimmed stdout. Errors carry git's stderr with
// every credential masked, and are classified as external (a remote failed).
func (g *git) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.dir
	cmd.Env = g.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = redact.String(msg, g.remote.auth.Password, base64.StdEncoding.EncodeToString([]byte(g.remote.auth.Username+":"+g.remote.auth.Password)))
		return "", &gitError{args: args, remote: g.remote.display, msg: msg, err: err}
	}
	return strings.TrimSpace(stdout.String()), nil
}

type gitError struct {
	args   []string
	remote string
	msg    string
	err    error
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s (%s): %v: %s", e.args[0], e.remote, e.err, e.msg)
}

func (e *gitError) Unwrap() error { return e.err }

// rejected reports whether a push failed because the remote branch moved.
func rejected(err error) bool {
	var ge *gitError
	return errors.As(err, &ge) && (strings.Contains(ge.msg, "non-fast-forward") || strings.Contains(ge.msg, "fetch first") ||
		strings.Contains(ge.msg, "[rejected]") || strings.Contains(ge.msg, "stale info"))
}

// clone clones r into dir and returns the default branch.
func clone(ctx context.Context, r remote, dir string, author Signature) (*git, string, error) {
	g := &git{dir: filepath.Dir(dir), remote: r, author: author}
	if _, err := g.run(ctx, "clone", "--quiet", "--no-tags", "--depth=1", "--no-single-branch", r.url, dir); err != nil {
		return nil, "", errdef.External(fmt.Errorf("clone the GitOps repository: %w; check the URL and the credentials (--git-token)", err))
	}
	g.dir = dir
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
	if _, err := g.run(ctx, "-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "--cleanup=strip", "-F", f.Name()); err != nil {
		return "", err
	}
	return g.run(ctx, "rev-parse", "HEAD")
}
