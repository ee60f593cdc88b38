package chart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/redact"
)

// gitRepo runs the git CLI (internal/git) in one work tree. The CLI (not a Go
// reimplementation) is what CI images have and what honours the user's git
// configuration.
type gitRepo struct {
	root string // work tree top level
	git  *git.Repo
}

// openGit finds the work tree containing dir: the nearest directory at or above
// dir holding .git (a directory, or a file in worktrees and submodules). Finding
// it without running git saves a process per build.
func openGit(ctx context.Context, dir string) (*gitRepo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("%w: %s: %w", errNoGit, dir, err))
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			if _, err := exec.LookPath("git"); err != nil {
				return nil, errdef.Usage(fmt.Errorf("%w: git is not installed, so the chart version cannot come from tags: install git or pass --version", errNoGit))
			}
			return &gitRepo{root: d, git: &git.Repo{Dir: d}}, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return nil, errdef.Usage(fmt.Errorf("%w: %s is not inside a git work tree, so the chart version cannot come from tags: pass --version", errNoGit, dir))
}

// run runs git in the work tree and returns its standard output. A failure
// names the command and carries git's message on one line, URLs redacted.
func (g *gitRepo) run(ctx context.Context, args ...string) (string, error) {
	out, err := g.git.Run(ctx, args...)
	if err == nil {
		return out, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", ctxErr
	}
	var ge *git.Error
	if errors.As(err, &ge) && strings.TrimSpace(ge.Stderr) != "" {
		return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), redactURLs(oneLine(ge.Stderr)))
	}
	if errors.As(err, &ge) {
		err = ge.Err
	}
	return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
}

// oneLine joins the lines of a multi-line message with "; ".
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// redactURLs masks credentials in every URL in s: git prints remote URLs,
// and those can carry tokens.
func redactURLs(s string) string {
	f := strings.Fields(s)
	for i, w := range f {
		if strings.Contains(w, "://") {
			trimmed := strings.Trim(w, "'\"`,;:()")
			f[i] = strings.Replace(w, trimmed, redact.URL(trimmed), 1)
		}
	}
	return strings.Join(f, " ")
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dirtyFiles lists what `git status` reports changed or untracked under dir,
// leaving out the paths in exclude (built dependencies, the destination).
func (g *gitRepo) dirtyFiles(ctx context.Context, dir string, exclude ...string) ([]string, error) {
	args := []string{"status", "--porcelain", "--untracked-files=all", "--", dir}
	for _, e := range exclude {
		args = append(args, ":(exclude)"+e)
	}
	out, err := g.run(ctx, args...)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("checking %s for uncommitted changes: %w", dir, err))
	}
	var files []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 {
			files = append(files, f[len(f)-1])
		}
	}
	return files, nil
}

// refuseDirtyRelease fails a release build (HEAD on a release tag) whose chart
// directory has uncommitted changes, unless opts.AllowDirty: the package would
// hold more than the tag names. Built dependencies (charts/*.tgz, a generated
// Chart.lock) and the destination don't count.
func refuseDirtyRelease(ctx context.Context, chartDir string, ver Version, opts BuildOptions) error {
	if ver.Source != VersionFromTag || opts.AllowDirty {
		return nil
	}
	g, err := openGit(ctx, chartDir)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(chartDir)
	if err != nil {
		return errdef.Usage(err)
	}
	dest, err := filepath.Abs(opts.Destination)
	if err != nil {
		return errdef.Usage(err)
	}
	exclude := []string{filepath.Join(abs, "charts", "*.tgz"), filepath.Join(abs, "Chart.lock")}
	if rel, err := filepath.Rel(abs, dest); err == nil && !strings.HasPrefix(rel, "..") {
		exclude = append(exclude, dest)
	}
	files, err := g.dirtyFiles(ctx, abs, exclude...)
	if err != nil || len(files) == 0 {
		return err
	}
	more := ""
	if len(files) > 1 {
		more = fmt.Sprintf(" and %d more", len(files)-1)
	}
	return errdef.Usage(fmt.Errorf("HEAD is on release tag %s but %s has uncommitted changes (%s%s): the release would hold more than the tag; commit or stash them (git status), or pass --allow-dirty",
		ver.Tag, chartDir, files[0], more))
}
