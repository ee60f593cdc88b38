package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/google/go-github/v93/github"

	"github.com/chartship/chartship/internal/errdef"
	gitcli "github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/retry"
)

// BumpOptions say how a plan is applied to a repository.
type BumpOptions struct {
	Logger *slog.Logger
	// DryRun stops after the plan: nothing is cloned for a local directory,
	// nothing is written, committed or pushed.
	DryRun bool
	// Branch to commit on; default chartship/bump-<chart>-<version>.
	Branch string
	// PushTo pushes the commit straight onto this branch instead (Flux's own
	// mode); no pull request.
	PushTo string
	// PR opens a pull request for Branch through the GitHub API, or updates
	// the open one of an earlier bump of the same chart.
	PR     bool
	GitHub GitHubOptions
	// Message is a text/template for the commit message (and PR title and
	// body: its first line and the rest), executed on a MessageData.
	Message string
	Auth    GitAuth   // credentials for HTTP(S) remotes
	Author  Signature // commit author; default DefaultAuthor
	// Committer of the commits; default Author.
	Committer Signature
	// Sign signs the bump commits with git (SSH or OpenPGP key); zero: unsigned.
	Sign gitcli.Signing
	// Plan tunes the planning.
	Plan Options
	// Retries bounds how often a push to PushTo that the remote rejected
	// because the branch moved is rebuilt on the new tip and pushed again, with
	// jittered backoff; 0 means never. DefaultBumpOptions sets the default.
	//
	// It also bounds the retries of each clone, fetch and push that failed
	// transiently (5xx, 429, a broken connection, a stall beyond
	// RequestTimeout); a refused credential fails at once.
	Retries int
	// RequestTimeout makes git abandon a transfer that moves less than a byte a
	// second this long (http.lowSpeedLimit/lowSpeedTime); it is then retried.
	// 0 leaves git's own settings. DefaultBumpOptions has retry.DefaultRequestTimeout.
	RequestTimeout time.Duration
	// AllowNone accepts a repository that holds no reference to the chart at all
	// (status "no references"); without it that is an error matching
	// ErrNoReferences: a typo in the chart name must not read as "up to date".
	AllowNone bool

	beforePush func(attempt int) // tests: make the remote move
}

// DefaultBumpOptions are the options the CLI's flag defaults come from.
func DefaultBumpOptions() BumpOptions {
	return BumpOptions{Retries: retry.DefaultRetries, RequestTimeout: retry.DefaultRequestTimeout}
}

// Validate reports options that exclude each other or are out of range.
func (o BumpOptions) Validate() error {
	switch {
	case o.PushTo != "" && o.PR:
		return errdef.Usage(errors.New("--push-to and --pr exclude each other: push straight to a branch, or open a pull request"))
	case o.Retries < 0:
		return errdef.Usage(fmt.Errorf("--retries %d: give 0 (never retry) or more", o.Retries))
	case o.RequestTimeout < 0:
		return errdef.Usage(fmt.Errorf("--request-timeout %s: give a positive duration such as 30s", o.RequestTimeout))
	}
	return o.Sign.Validate()
}

// DefaultMessage is the commit message template.
const DefaultMessage = `chore: bump {{.Chart}} to {{.Version}}

{{range .Changes}}- {{.File}}:{{.Line}}: {{.Old}} → {{.New}} ({{.Policy}})
{{end}}
Made by chartship bump.
`

// MessageData is what the message template sees.
type MessageData struct {
	Chart   string
	Version string
	Changes []Change
}

// Result is what a bump did to one repository.
type Result struct {
	Repo   string `json:"repo"`
	Status string `json:"status"` // planned, up to date, pushed, pull request opened/updated
	Branch string `json:"branch,omitempty"`
	Commit string `json:"commit,omitempty"`
	// Retries counts the clones, fetches and pushes tried again after a
	// transient failure of the remote.
	Retries     int          `json:"retries,omitempty"`
	PullRequest *PullRequest `json:"pullRequest,omitempty"`
	Plan        *Plan        `json:"plan"`
}

// Statuses of a Result.
const (
	StatusPlanned  = "planned (dry run)"
	StatusUpToDate = "up to date"
	StatusPushed   = "pushed"
	StatusPR       = "pull request"
	StatusNone     = "no references"
)

// ErrNoReferences means a repository holds no reference to the chart at all
// (BumpOptions.AllowNone unset).
var ErrNoReferences = errors.New("no references")

// noReferences reports a plan that found nothing for req in repo: status
// StatusNone, and an error unless allowed.
func noReferences(res *Result, plan *Plan, req Request, opts BumpOptions) (bool, error) {
	if len(plan.Changes)+len(plan.Left) > 0 {
		return false, nil
	}
	res.Status, res.Branch = StatusNone, ""
	if opts.AllowNone {
		return true, plan.Err()
	}
	var filters []string
	if req.Catalog != "" {
		filters = append(filters, "App spec.catalog "+req.Catalog)
	}
	if req.Source != "" {
		filters = append(filters, "HelmRelease sourceRef "+req.Source)
	}
	if req.Registry != "" {
		filters = append(filters, "OCIRepository under "+req.Registry)
	}
	only := ""
	if len(filters) > 0 {
		only = " (only " + strings.Join(filters, ", ") + ")"
	}
	err := errdef.Usage(fmt.Errorf("%w to chart %s in %s%s: check the chart name and the filters, or pass --allow-none when a repository may hold none", ErrNoReferences, req.Chart, res.Repo, only))
	if perr := plan.Err(); perr != nil {
		return true, errors.Join(err, perr)
	}
	return true, err
}

// DefaultBranch is the branch a bump of chart to version commits on.
func DefaultBranch(chart, version string) string {
	return branchPrefix(chart) + version
}

func branchPrefix(chart string) string { return "chartship/bump-" + chart + "-" }

// Bump plans req against the repository repo (a local directory or a git URL)
// and, unless DryRun, commits the rewritten files, pushes them and opens or
// updates a pull request. Files with bad input are left untouched and reported
// in Result.Plan.Problems; the error is then non-nil (matching ErrBadInput)
// even though the good files were bumped.
func Bump(ctx context.Context, repo string, req Request, opts BumpOptions) (*Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	log := logging.OrDiscard(opts.Logger)
	opts.Logger, opts.Plan.Logger = log, log
	if opts.Author.Name == "" {
		opts.Author = DefaultAuthor
	}
	if opts.Message == "" {
		opts.Message = DefaultMessage
	}
	msgTmpl, err := template.New("message").Parse(opts.Message)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--message template: %w", err))
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	r, err := parseRemote(repo, opts.Auth)
	if err != nil {
		return nil, err
	}
	res := &Result{Repo: r.display}

	if opts.DryRun && r.local != "" {
		plan, err := PlanDir(ctx, r.local, req, opts.Plan)
		if err != nil {
			return nil, err
		}
		res.Plan, res.Status = plan, StatusPlanned
		if none, err := noReferences(res, plan, req, opts); none {
			return res, err
		}
		return res, plan.Err()
	}

	if r.local != "" {
		if _, err := os.Stat(filepath.Join(r.local, ".git")); err != nil {
			return nil, errdef.Usage(fmt.Errorf("%s is not a git repository: bump it with --dry-run (plan only) or point --repo at a git repository", r.local))
		}
	}
	var prs *prClient
	if opts.PR && !opts.DryRun {
		if prs, err = newPRClient(opts.GitHub, r.url); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp("", "chartship-bump-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	g, base, err := clone(ctx, r, filepath.Join(tmp, "repo"), opts)
	if err != nil {
		return nil, err
	}
	defer func() { res.Retries = g.retries }()
	log.Debug("cloned", "repo", r.display, "base", base)

	target := opts.PushTo
	if target == "" {
		target = opts.Branch
		if target == "" {
			target = DefaultBranch(req.Chart, req.Version)
		}
	}
	var existing *github.PullRequest
	if prs != nil {
		prefix := ""
		if opts.Branch == "" {
			prefix = branchPrefix(req.Chart)
		}
		pr, err := prs.findOpen(ctx, base, target, prefix)
		if err != nil {
			return nil, err
		}
		if pr != nil {
			existing = pr
			target = pr.GetHead().GetRef()
			log.Info("updating the open pull request of an earlier bump", "repo", r.display, "number", pr.GetNumber(), "branch", target)
		}
	}
	res.Branch = target

	// Push straight to a branch: build on its tip; when the branch moved in
	// the meantime, rebuild the bump on its new tip and push again.
	once := func(attempt int) (*Result, error) {
		if opts.PushTo != "" && opts.PushTo != base {
			start := "HEAD"
			if g.remoteHas(ctx, opts.PushTo) {
				start = "origin/" + opts.PushTo
			}
			if _, err := g.run(ctx, "checkout", "--quiet", "-B", opts.PushTo, start); err != nil {
				return nil, errdef.External(err)
			}
		}
		plan, err := PlanDir(ctx, g.repo.Dir, req, opts.Plan)
		if err != nil {
			return nil, err
		}
		res.Plan = plan
		if none, err := noReferences(res, plan, req, opts); none {
			return res, err
		}
		if opts.DryRun {
			res.Status = StatusPlanned
			return res, plan.Err()
		}
		if len(plan.Changes) == 0 {
			res.Status, res.Branch = StatusUpToDate, ""
			return res, plan.Err()
		}
		if err := plan.Write(g.repo.Dir); err != nil {
			return nil, err
		}
		var msg bytes.Buffer
		if err := msgTmpl.Execute(&msg, MessageData{Chart: req.Chart, Version: req.Version, Changes: plan.Changes}); err != nil {
			return nil, errdef.Usage(fmt.Errorf("--message template: %w", err))
		}
		commit, err := g.commitMessage(ctx, plan.Files(), msg.String())
		if errors.Is(err, errdef.ErrUsage) { // the signing key (gitcli.Signing.Explain)
			return nil, fmt.Errorf("%s: %w", r.display, err)
		}
		if err != nil {
			return nil, errdef.External(fmt.Errorf("commit the bump: %w", err))
		}
		res.Commit = commit
		if opts.beforePush != nil {
			opts.beforePush(attempt)
		}
		if opts.PushTo != "" {
			_, err := g.transfer(ctx, "push", nil, "push", "--quiet", "origin", "HEAD:refs/heads/"+opts.PushTo)
			if err == nil {
				res.Status = StatusPushed
				return res, plan.Err()
			}
			if !gitcli.IsPushRejected(err) {
				return nil, errdef.External(fmt.Errorf("push to %s: %w", opts.PushTo, err))
			}
			if _, err := g.transfer(ctx, "fetch", nil, "fetch", "--quiet", "origin"); err != nil {
				return nil, errdef.External(err)
			}
			if _, err := g.run(ctx, "reset", "--quiet", "--hard", "origin/"+opts.PushTo); err != nil {
				return nil, errdef.External(err)
			}
			return nil, retry.Again(err)
		}
		// A bump branch belongs to chartship: it is rebuilt from the base
		// every time, so it is force-pushed.
		if _, err := g.transfer(ctx, "push", nil, "push", "--quiet", "--force", "origin", "HEAD:refs/heads/"+target); err != nil {
			return nil, errdef.External(fmt.Errorf("push branch %s: %w", target, err))
		}
		res.Status = StatusPushed
		if prs != nil {
			title, body, _ := strings.Cut(strings.TrimSpace(msg.String()), "\n")
			pr, err := prs.openOrUpdate(ctx, existing, base, target, title, strings.TrimSpace(body))
			if err != nil {
				return res, err
			}
			res.PullRequest, res.Status = &pr, StatusPR+" "+pr.Action
		}
		return res, plan.Err()
	}
	policy := retry.DefaultPolicy()
	policy.Retries = opts.Retries
	policy.OnRetry = func(attempt int, wait time.Duration, _ error) {
		log.Info("the branch moved while bumping; rebuilding the bump on its new tip", "branch", opts.PushTo, "attempt", attempt, "wait", wait.String())
	}
	var out *Result
	err = retry.Do(ctx, policy, func(attempt int) error {
		var err error
		out, err = once(attempt + 1)
		return err
	})
	var spent *retry.Exhausted
	if errors.As(err, &spent) {
		return nil, errdef.External(fmt.Errorf("push to %s (rejected %d times: the branch keeps moving; run again or raise --retries): %w", opts.PushTo, spent.Attempts, spent.Err))
	}
	return out, err
}
