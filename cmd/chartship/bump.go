package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/redact"
	"github.com/chartship/chartship/sign"
)

// openVersions opens the catalog --registry names to list its versions.
func openVersions(cmd *cli.Command, ref string) (catalog.Lister, error) {
	o, err := ociOptions(cmd)
	if err != nil {
		return nil, err
	}
	return catalog.Open(ref, catalog.Options{Logger: logger(cmd), OCI: o})
}

// bumpResult is what `chartship bump` prints: one result per repository.
type bumpResult struct {
	Chart   string           `json:"chart"`
	Version string           `json:"version"`
	Repos   []*gitops.Result `json:"repos"`
	Errors  []repoError      `json:"errors,omitempty"`
}

type repoError struct {
	Repo  string `json:"repo"`
	Error string `json:"error"`
}

func bumpCommand() *cli.Command {
	return &cli.Command{
		Name:  "bump",
		Usage: "bump a released chart version in downstream GitOps repositories (App, HelmRelease, OCIRepository, $imagepolicy markers)",
		Description: `Finds every reference to --chart in each repository, decides the new version with
its ImagePolicy (Flux semantics) or --policy, and rewrites only those scalars. Prints the
plan (file:line, old → new, policy); --dry-run stops there. Otherwise commits on --bump-branch
and pushes it (with --pr: opens a pull request, or updates the open one of an earlier bump
of the same chart), or pushes straight to --push-to.`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "repo", Usage: "GitOps repository: local path or git URL (git+https://HOST/ORG/REPO.git); repeat for several"},
			&cli.StringFlag{Name: "repo-list", Usage: "file listing repositories, one per line (# comments)"},
			&cli.StringFlag{Name: "chart", Usage: "chart (App) name", Required: true},
			&cli.StringFlag{Name: "version", Usage: "the version just released", Required: true},
			&cli.StringFlag{Name: "digest", Usage: "OCI manifest digest (sha256:…) --version was pushed with: written where :digest markers or digestReflectionPolicy ask for it"},
			&cli.StringSliceFlag{Name: "available", Usage: "other versions the catalog offers (comma-separated or repeated); the highest one each policy allows wins"},
			&cli.StringFlag{Name: "registry", Usage: "oci://HOST/NAMESPACE the chart is published to: lists its versions and limits OCIRepository/ImageRepository matches"},
			&cli.StringFlag{Name: "app-catalog", Usage: "only App CRs with this spec.catalog"},
			&cli.StringFlag{Name: "source", Usage: "only HelmReleases whose sourceRef is NAME, KIND/NAME or KIND/NAMESPACE/NAME"},
			&cli.StringFlag{Name: "policy", Value: gitops.PolicySameMajor, Usage: "rule for references without an ImagePolicy: same-major, same-minor, latest, none, or a semver range"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan; write, commit and push nothing"},
			&cli.BoolFlag{Name: "allow-none", Usage: "a repository without any reference to --chart is fine (default: an error, exit 1: the chart name may be mistyped)"},
			&cli.StringFlag{Name: "bump-branch", Usage: "branch to commit bumps on (default chartship/bump-<chart>-<version>)"},
			&cli.StringFlag{Name: "push-to", Usage: "push the commit straight onto this branch (no pull request)"},
			&cli.BoolFlag{Name: "pr", Usage: "open (or update) a GitHub pull request"},
			&cli.IntFlag{Name: "bump-parallel", Value: gitops.DefaultBumpParallel, Usage: "repositories bumped at once"},
			&cli.StringFlag{Name: "message", Usage: "commit message Go template over .Chart .Version .Changes (first line: PR title; default \"chore: bump {{.Chart}} to {{.Version}}\" and the list of changes)"},
			&cli.StringFlag{Name: "github-token", Usage: "GitHub token for --pr (and git over HTTPS when --git-token is unset)", Sources: cli.EnvVars("GITHUB_TOKEN")},
			&cli.StringFlag{Name: "github-api", Usage: "GitHub API base URL (GitHub Enterprise: https://HOST/api/v3/)", Sources: cli.EnvVars("GITHUB_API_URL")},
			&cli.StringFlag{Name: "github-repo", Usage: "OWNER/NAME on GitHub when it differs from the repository URL"},
			&cli.StringFlag{Name: "git-username", Aliases: []string{"git-user"}, Value: "x-access-token", Usage: gitUsernameUsage},
			&cli.StringFlag{Name: "git-token", Usage: "password or token for git over HTTPS (default: --github-token)"},
			&cli.BoolFlag{Name: "require-upgrade-test", Category: signFlagCategory, Usage: "bump a reference only to versions whose signed upgrade-test attestation (in --registry) says the upgrade from the reference's current version passed; needs --cosign-key or the keyless identity flags"},
		}, concatFlags(verifyFlags(), commitFlags(), ociReadFlags())...),
		Action: runBump,
	}
}

func runBump(ctx context.Context, cmd *cli.Command) error {
	repos, err := bumpRepos(cmd)
	if err != nil {
		return err
	}
	req := gitops.Request{
		Chart:     cmd.String("chart"),
		Version:   cmd.String("version"),
		Available: splitList(cmd.StringSlice("available")),
		Registry:  cmd.String("registry"),
		Catalog:   cmd.String("app-catalog"),
		Source:    cmd.String("source"),
		Policy:    cmd.String("policy"),
		Digest:    cmd.String("digest"),
	}
	if err := req.Validate(); err != nil {
		return err
	}
	log := logger(cmd)
	if req.Registry != "" {
		l, err := openVersions(cmd, req.Registry)
		if err != nil {
			return err
		}
		vs, err := l.Versions(ctx, req.Chart)
		if err != nil {
			return fmt.Errorf("list the versions of %s in %s: %w (without access to the registry from here, pass them with --available and drop --registry)", req.Chart, req.Registry, err)
		}
		log.Debug("versions in the registry", "registry", req.Registry, "chart", req.Chart, "count", len(vs))
		req.Available = append(req.Available, vs...)
	}
	if cmd.Bool("require-upgrade-test") {
		if req.Proven, err = provenUpgrades(ctx, cmd, req); err != nil {
			return err
		}
	}
	opts := gitops.DefaultBumpOptions()
	opts.Logger = log
	opts.DryRun = cmd.Bool("dry-run")
	opts.AllowNone = cmd.Bool("allow-none")
	opts.Branch, opts.PushTo, opts.PR = cmd.String("bump-branch"), cmd.String("push-to"), cmd.Bool("pr")
	opts.Message = cmd.String("message")
	// --retries and --request-timeout also cover the clones, fetches and pushes
	// of the GitOps repositories (git low-speed limits).
	opts.Retries, opts.RequestTimeout = cmd.Int("retries"), cmd.Duration("request-timeout")
	opts.GitHub = gitops.GitHubOptions{Token: cmd.String("github-token"), APIURL: cmd.String("github-api"), Repo: cmd.String("github-repo")}
	opts.Auth = gitopsAuth(cmd.String("git-username"), cmd.String("git-token"), cmd.String("github-token"))
	author, committer, err := commitIdentities(cmd)
	if err != nil {
		return err
	}
	opts.Author, opts.Committer = gitops.Signature(author), gitops.Signature(committer)
	if opts.Sign, err = commitSigning(cmd); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.GitHub.Repo != "" && len(repos) > 1 {
		return errdef.Usage(errors.New("--github-repo names one repository; give one --repo with it"))
	}

	out := &bumpResult{Chart: req.Chart, Version: req.Version, Repos: []*gitops.Result{}}
	var errs []error
	results, rerrs := gitops.BumpAll(ctx, repos, req, opts, cmd.Int("bump-parallel"))
	for i, repo := range repos {
		res, err := results[i], rerrs[i]
		if res != nil {
			out.Repos = append(out.Repos, res)
		}
		if err != nil {
			name := redact.URL(repo) // a token in the URL given stays out of the output
			if res != nil {
				name = res.Repo
			}
			// Bad input is already listed, file by file, in the plan; no references in the status.
			if !(res != nil && res.Plan != nil && (errors.Is(err, gitops.ErrBadInput) || errors.Is(err, gitops.ErrNoReferences))) {
				log.Error("bump failed", "repo", name, "error", err)
				out.Errors = append(out.Errors, repoError{Repo: name, Error: err.Error()})
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if err := render(cmd, out, func(w io.Writer) { printBump(w, out) }); err != nil {
		return err
	}
	return errdef.Join(errs...)
}

func bumpRepos(cmd *cli.Command) ([]string, error) {
	repos := splitList(cmd.StringSlice("repo"))
	if list := cmd.String("repo-list"); list != "" {
		f, err := os.Open(list)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("--repo-list: %w", err))
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				repos = append(repos, line)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, errdef.Usage(fmt.Errorf("--repo-list %s: %w", list, err))
		}
	}
	if len(repos) == 0 {
		return nil, errdef.Usage(errors.New("no repository: give --repo URL|PATH (repeatable) or --repo-list FILE"))
	}
	return repos, nil
}

func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func printBump(w io.Writer, out *bumpResult) {
	for _, r := range out.Repos {
		fmt.Fprintf(w, "%s: %s", r.Repo, r.Status)
		if r.Branch != "" && r.Status != gitops.StatusPlanned {
			fmt.Fprintf(w, " (branch %s", r.Branch)
			if r.Commit != "" {
				fmt.Fprintf(w, ", commit %.12s", r.Commit)
			}
			fmt.Fprint(w, ")")
		}
		if r.PullRequest != nil {
			fmt.Fprintf(w, " #%d %s", r.PullRequest.Number, r.PullRequest.URL)
		}
		fmt.Fprintln(w)
		if r.Plan == nil {
			continue
		}
		for _, c := range r.Plan.Changes {
			fmt.Fprintf(w, "  %s:%d  %s → %s  [%s]\n", c.File, c.Line, c.Old, c.New, c.Policy)
		}
		for _, l := range r.Plan.Left {
			fmt.Fprintf(w, "  %s:%d  %s left: %s\n", l.File, l.Line, l.Value, l.Reason)
		}
		for _, p := range r.Plan.Problems {
			fmt.Fprintf(w, "  %s  PROBLEM\n", p.String())
		}
		r.Plan.StagesText(w)
	}
	for _, e := range out.Errors {
		fmt.Fprintf(w, "%s: failed: %s\n", e.Repo, e.Error)
	}
}

// provenUpgrades verifies the upgrade-test attestations of the versions in the
// registry (--require-upgrade-test).
func provenUpgrades(ctx context.Context, cmd *cli.Command, req gitops.Request) (map[string][]string, error) {
	if k, _ := catalog.KindOf(req.Registry); k != catalog.KindOCI {
		return nil, errdef.Usage(errors.New("--require-upgrade-test reads the attestations from the registry: give --registry oci://HOST/NAMESPACE"))
	}
	vo, err := verifyOptions(cmd)
	if err != nil {
		return nil, err
	}
	v, err := sign.NewVerifier(vo)
	if err != nil {
		return nil, err
	}
	o, err := ociOptions(cmd)
	if err != nil {
		return nil, err
	}
	o.Logger = logger(cmd)
	cat, err := oci.Open(req.Registry, o)
	if err != nil {
		return nil, err
	}
	proven, err := v.ProvenUpgrades(ctx, cat, req.Chart, append(slices.Clone(req.Available), req.Version))
	if err != nil {
		return nil, fmt.Errorf("reading the upgrade-test attestations of %s in %s: %w", req.Chart, req.Registry, err)
	}
	logger(cmd).Debug("proven upgrades", "chart", req.Chart, "versions", len(proven))
	return proven, nil
}
