// Package gitrepo is a Helm repository kept in a git repository (index.yaml and
// the archives, as GitHub Pages serves them): a catalog that chartship
// publishes to, lists and fetches from, and prunes. It reads and writes the
// branch through a cheap view (internal/gitobj) that never downloads the
// catalog's archives or history, splices new entries into index.yaml
// (catalog/internal/helmindex), and retries a push that lost a race with other
// publishers on the new tip.
package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/internal/helmindex"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/atomicfile"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/gitobj"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/redact"
	"github.com/chartship/chartship/internal/retry"
)

// Options configure git-hosted catalogs (git+https://, git+ssh://, git+file://).
type Options struct {
	// Branch to publish to; "" means the remote's default branch.
	Branch string
	// IndexURL is the public base URL of the catalog, where entries' urls point
	// (e.g. https://ORG.github.io/REPO/). "" means https://ORG.github.io/REPO/ for
	// github.com remotes and relative urls (the bare file name) elsewhere.
	IndexURL string
	// Username and Token authenticate over HTTPS (Token alone: a GitHub token).
	Username string
	Token    string
	// SSHKeyFile is a private key file for git+ssh://; SSHKey is the key itself
	// (e.g. decoded from base64 in a CI variable). SSHKey wins when both are set.
	SSHKeyFile string
	SSHKey     []byte
	// Retries bounds how often a rejected push (the branch moved) is retried after
	// fetching the new tip and re-applying; 0 means never, as --retries 0 does
	// (DefaultOptions has the default).
	Retries int
	// RetryDelay is the base of the jittered exponential backoff; 0 means
	// retry.DefaultBase.
	RetryDelay time.Duration
	// RequestTimeout makes git abandon a transfer that stalls (less than a byte
	// a second) this long; the attempt is then retried like a dropped
	// connection, as are 5xx answers and broken connections (within Retries).
	// 0 means never (DefaultOptions has retry.DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Author and Committer of the catalog's commits; unset: GIT_AUTHOR_*/
	// GIT_COMMITTER_* from the environment, else "chartship". Committer
	// defaults to Author.
	Author, Committer Identity
	// Sign signs the catalog's commits with git (SSH or OpenPGP); zero: unsigned.
	Sign   git.Signing
	Logger *slog.Logger
}

// Identity is a git identity (user.name, user.email).
type Identity struct{ Name, Email string }

// DefaultOptions are the options the CLI's flag defaults come from: retries
// as every remote makes them (internal/retry).
func DefaultOptions() Options {
	return Options{Retries: retry.DefaultRetries, RetryDelay: retry.DefaultBase, RequestTimeout: retry.DefaultRequestTimeout}
}

// Validate reports options out of range.
func (o Options) Validate() error {
	if o.Retries < 0 {
		return errdef.Usage(fmt.Errorf("--retries %d: give 0 (never retry) or more", o.Retries))
	}
	if o.RequestTimeout < 0 {
		return errdef.Usage(fmt.Errorf("--request-timeout %s: give a positive duration such as 30s", o.RequestTimeout))
	}
	return o.Sign.Validate()
}

const (
	gitCommitterName  = "chartship"
	gitCommitterEmail = "chartship@users.noreply.github.com"
)

// Catalog is a Helm repository kept in a git repository.
type Catalog struct {
	remote   string // the URL git is given, without credentials
	name     string // for people, redacted
	opts     Options
	auth     git.Auth
	indexURL string
	log      *slog.Logger
	now      func() time.Time
}

// DefaultIndexURL is the GitHub Pages URL of a github.com repository
// (https://ORG.github.io/REPO/), or "" for other hosts.
func DefaultIndexURL(remote string) string {
	u, err := url.Parse(strings.TrimPrefix(remote, "git+"))
	if err != nil || !strings.EqualFold(u.Hostname(), "github.com") {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		return ""
	}
	return "https://" + strings.ToLower(parts[0]) + ".github.io/" + strings.TrimSuffix(parts[1], ".git") + "/"
}

// Open returns the catalog git+URL names: git+https://HOST/ORG/REPO.git,
// git+ssh://git@HOST/ORG/REPO.git or git+file:///PATH. Credentials in an HTTPS
// URL are taken out of it and handed to git through its credential helper.
func Open(ref string, opts Options) (*Catalog, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", redact.URL(ref), err)
	}
	raw := strings.TrimPrefix(ref, "git+")
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("catalog %s: not a URL: use git+https://HOST/ORG/REPO.git, git+ssh://git@HOST/ORG/REPO.git or git+file:///PATH", redact.URL(ref)))
	}
	g := &Catalog{opts: opts, log: logging.OrDiscard(opts.Logger), now: func() time.Time { return time.Now().UTC() }}
	g.auth = git.Auth{Username: opts.Username, Token: opts.Token}
	switch u.Scheme {
	case "https", "http":
		if u.User != nil {
			// Credentials in the URL: take them out, git gets them from the helper.
			if p, ok := u.User.Password(); ok {
				g.auth.Username, g.auth.Token = u.User.Username(), p
			} else {
				g.auth.Token = u.User.Username()
			}
			u.User = nil
		}
		if u.Host == "" {
			return nil, errdef.Usage(fmt.Errorf("catalog %s: no host", redact.URL(ref)))
		}
	case "ssh":
		if u.Host == "" {
			return nil, errdef.Usage(fmt.Errorf("catalog %s: no host", redact.URL(ref)))
		}
	case "file":
		if u.Path == "" {
			return nil, errdef.Usage(fmt.Errorf("catalog %s: no path; use git+file:///ABSOLUTE/PATH", ref))
		}
	default:
		return nil, errdef.Usage(fmt.Errorf("catalog %s: unsupported scheme %q; use git+https://, git+ssh:// or git+file://", redact.URL(ref), u.Scheme))
	}
	g.remote = u.String()
	g.name = "git+" + redact.URL(u.String())
	g.indexURL = opts.IndexURL
	if g.indexURL == "" {
		g.indexURL = DefaultIndexURL(g.remote)
	}
	if g.indexURL != "" && !strings.HasSuffix(g.indexURL, "/") {
		g.indexURL += "/"
	}
	return g, nil
}

func (g *Catalog) String() string { return g.name }

// IndexURL is the base URL entries point at ("" means relative urls).
func (g *Catalog) IndexURL() string { return g.indexURL }

// gitExternal classifies a git failure for people: what failed, on which
// catalog, what to do. Credentials never appear (internal/git redacts them).
func (g *Catalog) gitExternal(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	hint := "check that the remote is reachable and try again"
	if git.IsAuthFailure(err) {
		hint = "the remote refused the credentials: check GITHUB_TOKEN/CHARTSHIP_GIT_TOKEN (or --ssh-key) and that it may push to the repository"
	}
	return errdef.External(fmt.Errorf("catalog %s: %s: %w; %s", g.name, what, err, hint))
}

// viewErr classifies an error of the view: a git step that failed is an
// external failure, anything else (a local file) stays as it is.
func (g *Catalog) viewErr(err error) error {
	var ve *gitobj.Error
	if errors.As(err, &ve) {
		return g.gitExternal(ve.Step, ve.Err)
	}
	return err
}

// checkout makes a fresh cheap view of the catalog's branch with index.yaml
// (when the catalog has one) in the staging directory.
func (g *Catalog) checkout(ctx context.Context) (*gitobj.View, error) {
	auth := g.auth
	if len(g.opts.SSHKey) == 0 && g.opts.SSHKeyFile != "" {
		auth.SSHKey = g.opts.SSHKeyFile
	}
	v, err := gitobj.Open(ctx, gitobj.Options{
		Remote: g.remote, Branch: g.opts.Branch, Auth: auth, SSHKey: g.opts.SSHKey,
		Files: []string{"index.yaml"}, Env: gitIdentityEnv(g.opts.Author, g.opts.Committer), Sign: g.opts.Sign, Logger: g.log, StallTimeout: g.opts.RequestTimeout,
	})
	return v, g.viewErr(err)
}

// gitIdentityEnv names the commits' author and committer: the options', else
// the environment's, else chartship.
func gitIdentityEnv(author, committer Identity) []string {
	if committer.Name == "" {
		committer = author
	}
	var env []string
	for _, kv := range [][3]string{
		{"GIT_AUTHOR_NAME", author.Name, gitCommitterName}, {"GIT_AUTHOR_EMAIL", author.Email, gitCommitterEmail},
		{"GIT_COMMITTER_NAME", committer.Name, gitCommitterName}, {"GIT_COMMITTER_EMAIL", committer.Email, gitCommitterEmail},
	} {
		switch {
		case kv[1] != "":
			env = append(env, kv[0]+"="+kv[1])
		case os.Getenv(kv[0]) == "":
			env = append(env, kv[0]+"="+kv[2])
		}
	}
	return env
}

// gitChange is one attempt's edit of the catalog: it writes files and folders
// (one level deep) into w.Dir and returns the root-level names it changed; a
// returned name missing from w.Dir is deleted. No names: nothing to commit.
type gitChange func(ctx context.Context, w *gitobj.View) (names []string, message string, err error)

// update applies change to a cheap view of the branch, commits and pushes; when
// the push is rejected because the branch moved, it fetches the new tip and
// applies change again after a jittered backoff, at most retries times. It
// never forces a push, so nothing another publisher wrote is lost. It returns
// false when change had nothing to do.
func (g *Catalog) update(ctx context.Context, change gitChange) (bool, error) {
	var w *gitobj.View
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	policy := retry.Policy{Retries: g.opts.Retries, Base: g.opts.RetryDelay, Max: retry.DefaultMax}
	policy.OnRetry = func(attempt int, wait time.Duration, err error) {
		if git.IsTransient(err) {
			g.log.Info("the remote failed; retrying", "catalog", g.name, "attempt", attempt, "wait", wait.String(), "reason", git.LastLine(err))
			return
		}
		g.log.Info("push rejected: the branch moved; retrying on the new tip", "catalog", g.name, "attempt", attempt, "wait", wait.String())
	}
	changed, pushLost := false, false
	err := retry.Do(ctx, policy, func(attempt int) error {
		switch {
		case w != nil && w.Fresh:
			// The branch did not exist; someone created it: start over from it.
			w.Close()
			w = nil
		case w != nil:
			if err := w.Refresh(ctx); err != nil {
				return againIfTransient(g.viewErr(err))
			}
		}
		if w == nil {
			var err error
			if w, err = g.checkout(ctx); err != nil {
				if w != nil {
					w.Close()
					w = nil
				}
				return againIfTransient(err)
			}
		}
		done, ok, pushed, err := g.attempt(ctx, w, change)
		if pushed && git.IsTransient(err) {
			pushLost = true // the push may have landed: the next attempt finds out
		}
		if !done {
			return retry.Again(err)
		}
		changed = ok || (pushLost && err == nil)
		return againIfTransient(err)
	})
	var spent *retry.Exhausted
	if errors.As(err, &spent) {
		if git.IsTransient(spent.Err) {
			return false, fmt.Errorf("%w (tried %d times, --retries %d; run again later: a re-run finishes what this one started)", spent.Err, spent.Attempts, g.opts.Retries)
		}
		return false, g.gitExternal(fmt.Sprintf("pushing (rejected %d times: other publishers keep moving the branch; run again or raise --retries)", spent.Attempts), spent.Err)
	}
	return changed, err
}

// againIfTransient marks a git failure worth another try (git.IsTransient).
func againIfTransient(err error) error {
	if git.IsTransient(err) {
		return retry.Again(err)
	}
	return err
}

// attempt runs one change-commit-push on w. done means no retry on the new
// tip can help (success, nothing to do, or an error that isn't a rejected
// push); pushed means a push was tried.
func (g *Catalog) attempt(ctx context.Context, w *gitobj.View, change gitChange) (done, changed, pushed bool, err error) {
	names, msg, err := change(ctx, w)
	if err != nil || len(names) == 0 {
		return true, false, false, err
	}
	commit, err := w.Commit(ctx, names, msg)
	if errors.Is(err, errdef.ErrUsage) { // the signing key (git.Signing.Explain)
		return true, false, false, fmt.Errorf("catalog %s: %w", g.name, err)
	}
	if err != nil {
		return true, false, false, g.gitExternal("committing", err)
	}
	if err := w.Push(ctx, commit); err != nil {
		if git.IsPushRejected(err) {
			return false, false, true, err
		}
		return true, false, true, g.gitExternal("pushing branch "+w.Branch, err)
	}
	return true, true, true, nil
}

// gitMeta is the <chart>-<version>.tgz-meta/main.yaml the catalog's readers use.
type gitMeta struct {
	ChartFile       string            `json:"chartFile"`
	Digest          string            `json:"digest"`
	DateCreated     time.Time         `json:"dateCreated"`
	ChartAPIVersion string            `json:"chartApiVersion"`
	Annotations     map[string]string `json:"annotations,omitempty"`
	Home            string            `json:"home,omitempty"`
	Icon            string            `json:"icon,omitempty"`
	// Restrictions are Giant Swarm's (clusterSingleton, fixedNamespace, …) from the source
	// Chart.yaml, which app-operator reads here: Helm drops the key from the package.
	Restrictions map[string]any `json:"restrictions,omitempty"`
}

// Publish writes the package, its provenance, its -meta/ folder (with the
// attachments) and its index entry in one commit.
func (g *Catalog) Publish(ctx context.Context, pkg *chart.Package, attachments ...catalogdef.Attachment) (catalogdef.Result, error) {
	file := pkg.Name() + "-" + pkg.Version() + ".tgz"
	res := catalogdef.Result{Catalog: g.name, Chart: pkg.Name(), Version: pkg.Version(), Digest: pkg.Digest.String(), Ref: file}
	if g.indexURL != "" {
		u, err := helmindex.URLJoin(g.indexURL, file)
		if err != nil {
			return res, err
		}
		res.Ref = u
	}
	files, err := g.packageFiles(pkg, file, attachments)
	if err != nil {
		return res, err
	}
	res.Status = catalogdef.Published
	var note string
	changed, err := g.update(ctx, func(ctx context.Context, w *gitobj.View) ([]string, string, error) {
		note = ""
		now := g.now()
		cv, err := helmindex.NewEntry(pkg.Metadata, g.indexURL, pkg.Digest.Encoded(), now)
		if err != nil {
			return nil, "", err
		}
		idx, ires, err := helmindex.Add(filepath.Join(w.Dir, "index.yaml"), cv, now)
		if err != nil {
			return nil, "", fmt.Errorf("catalog %s: %w", g.name, err)
		}
		if ires.Present {
			res.Status = catalogdef.AlreadyPublished
			return nil, "", nil
		}
		note = ires.Note
		if err := files.write(w.Dir, now); err != nil {
			return nil, "", err
		}
		if err := gitWriteFile(filepath.Join(w.Dir, "index.yaml"), idx); err != nil {
			return nil, "", err
		}
		names := []string{"index.yaml", file, file + "-meta"}
		if files.prov != "" {
			names = append(names, file+".prov")
		}
		return names, "Publish " + pkg.Name() + " " + pkg.Version(), nil
	})
	if err != nil {
		return res, err
	}
	if changed {
		res.Status = catalogdef.Published
		for _, a := range attachments {
			res.Attached = append(res.Attached, strings.TrimSuffix(res.Ref, file)+file+"-meta/"+a.Name)
		}
	}
	res.Note = note
	return res, nil
}

// gitPackageFiles are the files a package brings to the catalog.
type gitPackageFiles struct {
	pkg         *chart.Package
	data        []byte
	file        string
	prov        string
	readme      []byte
	schema      []byte
	attachments []catalogdef.Attachment
}

func (g *Catalog) packageFiles(pkg *chart.Package, file string, attachments []catalogdef.Attachment) (*gitPackageFiles, error) {
	for _, a := range attachments {
		if a.Name != filepath.Base(a.Name) || a.Name == "main.yaml" || a.Name == "README.md" || a.Name == "values.schema.json" {
			return nil, errdef.Usage(fmt.Errorf("attachment %q: give a plain file name other than main.yaml, README.md and values.schema.json", a.Name))
		}
	}
	data, err := pkg.Bytes()
	if err != nil {
		return nil, err
	}
	c, err := pkg.Load()
	if err != nil {
		return nil, err
	}
	f := &gitPackageFiles{pkg: pkg, data: data, file: file, prov: pkg.ProvPath, schema: c.Schema, attachments: attachments}
	for _, cf := range c.Files {
		if cf.Name == "README.md" {
			f.readme = cf.Data
		}
	}
	if pkg.Meta.Readme != nil {
		f.readme = pkg.Meta.Readme // the chart's, else the app repository's (known at package time)
	}
	return f, nil
}

func (f *gitPackageFiles) write(dir string, created time.Time) error {
	if err := gitWriteFile(filepath.Join(dir, f.file), f.data); err != nil {
		return err
	}
	if f.prov != "" {
		if err := gitCopyFile(f.prov, filepath.Join(dir, f.file+".prov")); err != nil {
			return err
		}
	}
	meta := filepath.Join(dir, f.file+"-meta")
	if err := os.MkdirAll(meta, 0o755); err != nil {
		return err
	}
	md := f.pkg.Metadata
	main, err := yaml.Marshal(gitMeta{
		ChartFile: f.file, Digest: f.pkg.Digest.Encoded(), DateCreated: created,
		ChartAPIVersion: md.APIVersion, Annotations: md.Annotations, Home: md.Home, Icon: md.Icon,
		Restrictions: f.pkg.Meta.Restrictions,
	})
	if err != nil {
		return err
	}
	if err := gitWriteFile(filepath.Join(meta, "main.yaml"), main); err != nil {
		return err
	}
	if f.readme != nil {
		if err := gitWriteFile(filepath.Join(meta, "README.md"), f.readme); err != nil {
			return err
		}
	}
	if f.schema != nil {
		if err := gitWriteFile(filepath.Join(meta, "values.schema.json"), f.schema); err != nil {
			return err
		}
	}
	for _, a := range f.attachments {
		if err := gitWriteFile(filepath.Join(meta, a.Name), a.Data); err != nil {
			return err
		}
	}
	return nil
}

func gitWriteFile(p string, data []byte) error {
	return atomicfile.Write(p, data, 0o644)
}

func gitCopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// readIndex checks out the catalog and returns its index.yaml (nil when it has none).
func (g *Catalog) readIndex(ctx context.Context) (*gitobj.View, []byte, error) {
	w, err := g.checkout(ctx)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(filepath.Join(w.Dir, "index.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return w, nil, nil
	}
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return w, data, nil
}

// Versions lists the chart's versions in the index, newest first.
func (g *Catalog) Versions(ctx context.Context, name string) ([]string, error) {
	w, data, err := g.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	locs, err := helmindex.Entries(data, name)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", g.name, err)
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("catalog %s: chart %s: %w", g.name, name, catalogdef.ErrNotFound)
	}
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i] = l.Version
	}
	return out, nil
}

// Fetch downloads one version's archive into dir, checking its digest.
func (g *Catalog) Fetch(ctx context.Context, name, version, dir string) (string, error) {
	w, data, err := g.readIndex(ctx)
	if err != nil {
		return "", err
	}
	defer w.Close()
	locs, err := helmindex.Entries(data, name)
	if err != nil {
		return "", fmt.Errorf("catalog %s: %w", g.name, err)
	}
	var want *helmindex.Entry
	for i := range locs {
		if locs[i].Version == version {
			want = &locs[i]
		}
	}
	if want == nil {
		return "", fmt.Errorf("catalog %s: %s %s: %w", g.name, name, version, catalogdef.ErrNotFound)
	}
	file := name + "-" + version + ".tgz"
	dst := filepath.Join(dir, file)
	if err := w.ReadFile(ctx, file, dst); err != nil {
		return "", g.viewErr(err)
	}
	if err := catalogdef.CheckDigest(dst, want.Digest); err != nil {
		os.Remove(dst)
		return "", fmt.Errorf("catalog %s: %w", g.name, err)
	}
	return dst, nil
}
