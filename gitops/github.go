package gitops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v93/github"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/redact"
)

// GitHubOptions reach the GitHub REST API to open pull requests.
type GitHubOptions struct {
	Token      string       // a token allowed to open pull requests (GITHUB_TOKEN)
	APIURL     string       // default https://api.github.com/ (GitHub Enterprise: https://HOST/api/v3/)
	Repo       string       // OWNER/NAME; default: the last two path elements of the repository URL
	HTTPClient *http.Client // default http.DefaultClient
}

// PullRequest is the pull request a bump opened or updated.
type PullRequest struct {
	Number int    `json:"number"`
	URL    string `json:"url"`
	Action string `json:"action"` // opened or updated
}

type prClient struct {
	gh          *github.Client
	owner, name string
}

func newPRClient(opts GitHubOptions, repoURL string) (*prClient, error) {
	if opts.Token == "" {
		return nil, errdef.Usage(errors.New("--pr needs a GitHub token: set GITHUB_TOKEN (or --github-token)"))
	}
	owner, name, err := ownerRepo(opts.Repo, repoURL)
	if err != nil {
		return nil, err
	}
	clientOpts := []github.ClientOptionsFunc{github.WithAuthToken(opts.Token), github.WithUserAgent("chartship")}
	if opts.HTTPClient != nil {
		clientOpts = append(clientOpts, github.WithHTTPClient(opts.HTTPClient))
	}
	if opts.APIURL != "" {
		base := strings.TrimRight(opts.APIURL, "/") + "/"
		clientOpts = append(clientOpts, github.WithURLs(&base, &base))
	}
	gh, err := github.NewClient(clientOpts...)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("GitHub API %s: %w", redact.URL(opts.APIURL), err))
	}
	return &prClient{gh: gh, owner: owner, name: name}, nil
}

// ownerRepo names the GitHub repository: explicit OWNER/NAME, else the last two
// path elements of the repository URL.
func ownerRepo(explicit, repoURL string) (string, string, error) {
	path := explicit
	if path == "" {
		if u, err := url.Parse(repoURL); err == nil && u.Host != "" {
			path = u.Path
		} else if i := strings.LastIndexByte(repoURL, ':'); i >= 0 && strings.Contains(repoURL[:i], "@") {
			path = repoURL[i+1:] // git@github.com:owner/name.git
		}
	}
	parts := strings.Split(strings.Trim(strings.TrimSuffix(strings.Trim(path, "/"), ".git"), "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return "", "", errdef.Usage(fmt.Errorf("cannot tell the GitHub repository of %s: set --github-repo OWNER/NAME", redact.URL(repoURL)))
	}
	return parts[len(parts)-2], parts[len(parts)-1], nil
}

// findOpen returns the open pull request into base whose head branch is branch
// or starts with prefix (an earlier bump of the same chart), if any.
func (c *prClient) findOpen(ctx context.Context, base, branch, prefix string) (*github.PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", Base: base, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		prs, resp, err := c.gh.PullRequests.List(ctx, c.owner, c.name, opts)
		if err != nil {
			return nil, c.apiError("list open pull requests", err)
		}
		for _, pr := range prs {
			ref := pr.GetHead().GetRef()
			if ref == branch || (prefix != "" && strings.HasPrefix(ref, prefix)) {
				return pr, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// openOrUpdate opens a pull request from branch into base, or, when one is
// already open for that branch, updates its title and body.
func (c *prClient) openOrUpdate(ctx context.Context, existing *github.PullRequest, base, branch, title, body string) (PullRequest, error) {
	if existing == nil {
		pr, _, err := c.gh.PullRequests.Create(ctx, c.owner, c.name, github.CreatePullRequest{
			Title: new(title), Head: branch, Base: base, Body: new(body),
			MaintainerCanModify: new(true)})
		if err == nil {
			return PullRequest{Number: pr.GetNumber(), URL: pr.GetHTMLURL(), Action: "opened"}, nil
		}
		if !alreadyExists(err) {
			return PullRequest{}, c.apiError("open a pull request", err)
		}
		// Someone opened it meanwhile: find it and update it instead.
		if existing, err = c.findOpen(ctx, base, branch, ""); err != nil {
			return PullRequest{}, err
		}
		if existing == nil {
			return PullRequest{}, errdef.External(fmt.Errorf("GitHub says a pull request for %s already exists but lists none open into %s", branch, base))
		}
	}
	pr, _, err := c.gh.PullRequests.Edit(ctx, c.owner, c.name, existing.GetNumber(), &github.PullRequest{Title: new(title), Body: new(body)})
	if err != nil {
		return PullRequest{}, c.apiError(fmt.Sprintf("update pull request #%d", existing.GetNumber()), err)
	}
	return PullRequest{Number: pr.GetNumber(), URL: pr.GetHTMLURL(), Action: "updated"}, nil
}

func alreadyExists(err error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if strings.Contains(e.Message, "already exists") {
			return true
		}
	}
	return strings.Contains(er.Message, "already exists")
}

// apiError explains a GitHub API failure without echoing the token.
func (c *prClient) apiError(what string, err error) error {
	repo := c.owner + "/" + c.name
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return errdef.External(fmt.Errorf("GitHub %s on %s: 401 %s: the token was rejected; set GITHUB_TOKEN to a valid token", what, repo, er.Message))
		case http.StatusForbidden:
			return errdef.External(fmt.Errorf("GitHub %s on %s: 403 %s: the token lacks pull-request write access (or is rate limited)", what, repo, er.Message))
		case http.StatusNotFound:
			return errdef.External(fmt.Errorf("GitHub %s on %s: 404 %s: the repository does not exist or the token cannot see it; check --github-repo", what, repo, er.Message))
		case http.StatusUnprocessableEntity:
			var details []string
			for _, e := range er.Errors {
				details = append(details, strings.TrimSpace(e.Message+" "+e.Field+" "+e.Code))
			}
			return errdef.External(fmt.Errorf("GitHub %s on %s: 422 %s: %s", what, repo, er.Message, strings.Join(details, "; ")))
		}
		return errdef.External(fmt.Errorf("GitHub %s on %s: %d %s", what, repo, er.Response.StatusCode, er.Message))
	}
	return errdef.External(fmt.Errorf("GitHub %s on %s: %w", what, repo, err))
}
