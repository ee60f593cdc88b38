package catalog

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/redact"
)

// GitOptions configure git-hosted catalogs (git+https://, git+ssh://, git+file://).
type GitOptions struct {
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
	// fetching the new tip and re-applying; 0 means the default (10), negative none.
	Retries int
	// RetryDelay is the base of the jittered exponential backoff; 0 means 250ms.
	RetryDelay time.Duration
}

const (
	gitDefaultRetries    = 10
	gitDefaultRetryDelay = 250 * time.Millisecond
	gitMaxRetryDelay     = 10 * time.Second
	gitCommitterName     = "chartship"
	gitCommitterEmail    = "chartship@users.noreply.github.com"
)

// gitCatalog is a Helm repository kept in a git repository.
type gitCatalog struct {
	remote   string // the URL git is given, without credentials
	name     string // for people, redacted
	opts     GitOptions
	auth     git.Auth
	indexURL string
	log      *slog.Logger
	now      func() time.Time
}

// GitDefaultIndexURL is the GitHub Pages URL of a github.com repository
// (https://ORG.github.io/REPO/), or "" for other hosts.
func GitDefaultIndexURL(remote string) string {
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

func openGit(ref string, opts Options) (Catalog, error) {
	return gitOpen(ref, opts)
}

func gitOpen(ref string, opts Options) (*gitCatalog, error) {
	raw := strings.TrimPrefix(ref, "git+")
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("catalog %s: not a URL: use git+https://HOST/ORG/REPO.git, git+ssh://git@HOST/ORG/REPO.git or git+file:///PATH", redact.URL(ref)))
	}
	g := &gitCatalog{opts: opts.Git, log: logging.OrDiscard(opts.Logger), now: func() time.Time { return time.Now().UTC() }}
	g.auth = git.Auth{Username: opts.Git.Username, Token: opts.Git.Token}
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
	g.indexURL = opts.Git.IndexURL
	if g.indexURL == "" {
		g.indexURL = GitDefaultIndexURL(g.remote)
	}
	if g.indexURL != "" && !strings.HasSuffix(g.indexURL, "/") {
		g.indexURL += "/"
	}
	return g, nil
}

func (g *gitCatalog) String() string { return g.name }

// gitWork is a cheap view of the catalog's branch: a bare clone of depth 1 that
// holds the tip's commit and root tree but no blob and no sub-tree (partial clone
// with --filter=tree:1), and a staging directory (dir) holding index.yaml.
// Nothing is checked out: blobs are read with cat-file (git fetches just those
// on demand) and commits are written with mktree and commit-tree, so the cost
// does not grow with the archives or the history the catalog holds.
type gitWork struct {
	repo   *git.Repo // runs in the bare clone
	dir    string    // staging: index.yaml and whatever the change writes
	branch string
	fresh  bool // the branch doesn't exist yet on the remote
	tmp    string
	// tree is the tip's root tree object as git stores it (entries sorted,
	// binary object ids); hashLen is the length of those ids.
	tree    []byte
	hashLen int
}

func (w *gitWork) close() { os.RemoveAll(w.tmp) }

func (g *gitCatalog) retries() int {
	switch {
	case g.opts.Retries < 0:
		return 0
	case g.opts.Retries == 0:
		return gitDefaultRetries
	}
	return g.opts.Retries
}

// gitExternal classifies a git failure for people: what failed, on which
// catalog, what to do. Credentials never appear (internal/git redacts them).
func (g *gitCatalog) gitExternal(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	hint := "check that the remote is reachable and try again"
	if git.IsAuthFailure(err) {
		hint = "the remote refused the credentials: check GITHUB_TOKEN/CHARTSHIP_GIT_TOKEN (or --ssh-key) and that it may push to the repository"
	}
	return errdef.External(fmt.Errorf("catalog %s: %s: %w; %s", g.name, what, err, hint))
}

// checkout makes a fresh cheap view of the catalog's branch with index.yaml
// (when the catalog has one) in the staging directory.
func (g *gitCatalog) checkout(ctx context.Context) (*gitWork, error) {
	tmp, err := os.MkdirTemp("", "chartship-catalog-")
	if err != nil {
		return nil, fmt.Errorf("creating a work directory: %w", err)
	}
	w := &gitWork{tmp: tmp, dir: filepath.Join(tmp, "files")}
	ok := false
	defer func() {
		if !ok {
			w.close()
		}
	}()
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return nil, err
	}
	auth := g.auth
	switch {
	case len(g.opts.SSHKey) > 0:
		if auth.SSHKey, err = git.WriteSSHKey(tmp, g.opts.SSHKey); err != nil {
			return nil, err
		}
	case g.opts.SSHKeyFile != "":
		auth.SSHKey = g.opts.SSHKeyFile
	}
	env := gitIdentityEnv()
	gitDir := filepath.Join(tmp, "catalog.git")
	outer := &git.Repo{Dir: tmp, Auth: auth, Logger: g.log, Env: env}
	w.repo = &git.Repo{Dir: gitDir, Auth: auth, Logger: g.log, Env: env}

	args := []string{"ls-remote", "--symref", g.remote, "HEAD"}
	if g.opts.Branch != "" {
		args = append(args, "refs/heads/"+g.opts.Branch)
	}
	out, err := outer.Run(ctx, args...)
	if err != nil {
		return nil, g.gitExternal("reading the remote's branches", err)
	}
	w.branch = g.opts.Branch
	exists := false
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "ref:" && f[2] == "HEAD" && w.branch == "":
			w.branch = strings.TrimPrefix(f[1], "refs/heads/")
			exists = true
		case len(f) == 2 && g.opts.Branch != "" && f[1] == "refs/heads/"+g.opts.Branch:
			exists = true
		}
	}
	if w.branch == "" {
		w.branch = "main" // an empty repository: start its first branch
	}
	if !exists {
		w.fresh = true
		w.tree = nil
		if _, err := outer.Run(ctx, "init", "-q", "--bare", gitDir); err != nil {
			return nil, g.gitExternal("creating a repository", err)
		}
		if _, err := w.repo.Run(ctx, "remote", "add", "origin", g.remote); err != nil {
			return nil, g.gitExternal("starting branch "+w.branch, err)
		}
		ok = true
		return w, nil
	}
	// tree:1 brings the root tree only; a server that allows partial clones but
	// not that filter still serves blob:none (all trees, no blobs).
	for _, filter := range []string{"tree:1", "blob:none"} {
		_, err = outer.Run(ctx, "clone", "-q", "--bare", "--filter="+filter, "--depth", "1",
			"--single-branch", "--branch", w.branch, g.remote, gitDir)
		var ge *git.Error
		if err == nil || !errors.As(err, &ge) || !strings.Contains(ge.Stderr, "filter") {
			break
		}
		os.RemoveAll(gitDir)
		g.log.Debug("the remote refuses a filter; trying another", "filter", filter)
	}
	if err != nil {
		return nil, g.gitExternal("cloning branch "+w.branch, err)
	}
	if err := w.load(ctx); err != nil {
		return nil, g.gitExternal("reading index.yaml", err)
	}
	ok = true
	return w, nil
}

// load reads the tip's root tree and puts its index.yaml into the staging dir,
// both through one cat-file (which fetches the index blob, and only it, on demand).
func (w *gitWork) load(ctx context.Context) error {
	ref := "refs/heads/" + w.branch
	rest, err := w.repo.RunBytes(ctx, strings.NewReader(ref+"^{tree}\n"+ref+":index.yaml\n"), "cat-file", "--batch")
	if err != nil {
		return err
	}
	next := func() (oid, typ string, data []byte, err error) {
		hdr, body, ok := bytes.Cut(rest, []byte("\n"))
		f := strings.Fields(string(hdr))
		if !ok || len(f) < 2 {
			return "", "", nil, fmt.Errorf("git cat-file: unexpected output %q", hdr)
		}
		if f[len(f)-1] == "missing" {
			rest = body
			return "", "missing", nil, nil
		}
		var size int
		if len(f) != 3 {
			return "", "", nil, fmt.Errorf("git cat-file: unexpected output %q", hdr)
		}
		if _, err := fmt.Sscan(f[2], &size); err != nil || size < 0 || size+1 > len(body) {
			return "", "", nil, fmt.Errorf("git cat-file: unexpected output %q", hdr)
		}
		rest = body[size+1:]
		return f[0], f[1], body[:size], nil
	}
	oid, typ, tree, err := next()
	if err != nil {
		return err
	}
	if typ != "tree" {
		return fmt.Errorf("the tip of %s has no root tree (%s)", w.branch, typ)
	}
	w.tree, w.hashLen = tree, len(oid)/2
	_, typ, index, err := next()
	if err != nil {
		return err
	}
	os.RemoveAll(w.dir)
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	if typ != "blob" {
		return nil // no index.yaml (yet)
	}
	return os.WriteFile(filepath.Join(w.dir, "index.yaml"), index, 0o644)
}

// gitIdentityEnv gives commits an author when the environment names none.
func gitIdentityEnv() []string {
	var env []string
	for _, kv := range [][2]string{
		{"GIT_AUTHOR_NAME", gitCommitterName}, {"GIT_AUTHOR_EMAIL", gitCommitterEmail},
		{"GIT_COMMITTER_NAME", gitCommitterName}, {"GIT_COMMITTER_EMAIL", gitCommitterEmail},
	} {
		if os.Getenv(kv[0]) == "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return env
}

// gitChange is one attempt's edit of the catalog: it writes files and folders
// (one level deep) into w.dir and returns the root-level names it changed; a
// returned name missing from w.dir is deleted. No names: nothing to commit.
type gitChange func(ctx context.Context, w *gitWork) (names []string, message string, err error)

// update applies change to a cheap view of the branch, commits and pushes; when
// the push is rejected because the branch moved, it fetches the new tip and
// applies change again after a jittered backoff, at most retries times. It
// never forces a push, so nothing another publisher wrote is lost. It returns
// false when change had nothing to do.
func (g *gitCatalog) update(ctx context.Context, change gitChange) (bool, error) {
	retries := g.retries()
	var w *gitWork
	defer func() {
		if w != nil {
			w.close()
		}
	}()
	for attempt := 0; ; attempt++ {
		if w == nil {
			var err error
			if w, err = g.checkout(ctx); err != nil {
				return false, err
			}
		}
		done, changed, err := g.attempt(ctx, w, change)
		if done {
			return changed, err
		}
		if attempt >= retries {
			return false, g.gitExternal(fmt.Sprintf("pushing (rejected %d times: other publishers keep moving the branch; run again or raise --retries)", attempt+1), err)
		}
		d := g.backoff(attempt)
		g.log.Info("push rejected: the branch moved; retrying on the new tip", "catalog", g.name, "attempt", attempt+1, "wait", d.String())
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(d):
		}
		if w.fresh {
			// The branch did not exist; someone created it: start over from it.
			w.close()
			w = nil
			continue
		}
		if err := w.refresh(ctx); err != nil {
			return false, g.gitExternal("fetching the new tip of "+w.branch, err)
		}
	}
}

// refresh moves the view onto the remote branch's current tip.
func (w *gitWork) refresh(ctx context.Context) error {
	ref := "refs/heads/" + w.branch
	if _, err := w.repo.Run(ctx, "fetch", "-q", "--depth", "1", "origin", "+"+ref+":"+ref); err != nil {
		return err
	}
	return w.load(ctx)
}

func (g *gitCatalog) backoff(attempt int) time.Duration {
	base := g.opts.RetryDelay
	if base <= 0 {
		base = gitDefaultRetryDelay
	}
	d := base << min(attempt, 10)
	d = min(d, gitMaxRetryDelay)
	// Full jitter in [d/2, 3d/2): publishers that collided spread out.
	return d/2 + time.Duration(rand.Int64N(int64(d)+1))
}

// attempt runs one change-commit-push on w. done means no retry can help
// (success, nothing to do, or an error that isn't a rejected push).
func (g *gitCatalog) attempt(ctx context.Context, w *gitWork, change gitChange) (done, changed bool, err error) {
	names, msg, err := change(ctx, w)
	if err != nil || len(names) == 0 {
		return true, false, err
	}
	commit, err := w.commit(ctx, names, msg)
	if err != nil {
		return true, false, g.gitExternal("committing", err)
	}
	// Sparse reachability (git's default since 2.27, off in 2.25 and 2.26 or
	// when a user turns it off) keeps the push from walking into the sub-trees
	// it doesn't touch: in this partial clone each would be fetched, one by one.
	if _, err := w.repo.Run(ctx, "-c", "pack.useSparse=true", "push", "-q", "origin", commit+":refs/heads/"+w.branch); err != nil {
		if git.IsPushRejected(err) {
			return false, false, err
		}
		return true, false, g.gitExternal("pushing branch "+w.branch, err)
	}
	return true, true, nil
}

// commit writes the staged names onto the tip's root tree and returns the new
// commit. Sub-trees and blobs it doesn't touch are referenced, never fetched.
// Three git processes whatever the catalog's size: one hash-object writes every
// new blob, one writes the trees (built here by copying the tip's root tree and
// inserting the new entries in git's order), and commit-tree.
func (w *gitWork) commit(ctx context.Context, names []string, msg string) (string, error) {
	// Plan: which names are deleted, which are files, which are folders (of files).
	type change struct {
		name  string
		dir   bool
		first int      // index of its first blob in blobs
		files []string // a folder's file names, sorted (git's order for files)
	}
	var changes []change
	var blobs []string // paths, hashed by one process
	edits := map[string]*gitTreeEntry{}
	for _, name := range names {
		p := filepath.Join(w.dir, name)
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			edits[name] = nil
			continue
		case err != nil:
			return "", err
		}
		c := change{name: name, dir: st.IsDir(), first: len(blobs)}
		if !c.dir {
			blobs = append(blobs, p)
			changes = append(changes, c)
			continue
		}
		ents, err := os.ReadDir(p) // sorted by name
		if err != nil {
			return "", err
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				return "", fmt.Errorf("%s/%s: only files can be committed", name, e.Name())
			}
			c.files = append(c.files, e.Name())
			blobs = append(blobs, filepath.Join(p, e.Name()))
		}
		changes = append(changes, c)
	}
	oids, err := w.hashObjects(ctx, "blob", blobs)
	if err != nil {
		return "", err
	}
	hashLen := w.hashLen
	if len(oids) > 0 {
		hashLen = len(oids[0])
	} else if hashLen == 0 {
		hashLen = sha1.Size // a new repository with nothing but empty folders
	}
	if len(w.tree) > 0 && hashLen != w.hashLen {
		return "", fmt.Errorf("git wrote %d-byte object ids into a repository of %d-byte ones", hashLen, w.hashLen)
	}
	// The folders' trees and the root tree, written by one process. The
	// folders' ids are computed here (the root lists them) and checked against
	// git's.
	var treeFiles []string
	var want [][]byte
	writeTree := func(t []byte) error {
		f := filepath.Join(w.tmp, fmt.Sprintf("tree-%d", len(treeFiles)))
		treeFiles = append(treeFiles, f)
		return os.WriteFile(f, t, 0o600)
	}
	for _, c := range changes {
		if !c.dir {
			edits[c.name] = &gitTreeEntry{mode: "100644", name: c.name, oid: oids[c.first]}
			continue
		}
		var t []byte
		for i, f := range c.files {
			t = gitTreeEntry{mode: "100644", name: f, oid: oids[c.first+i]}.appendTo(t)
		}
		id, err := gitObjectID("tree", t, hashLen)
		if err != nil {
			return "", err
		}
		if err := writeTree(t); err != nil {
			return "", err
		}
		want = append(want, id)
		edits[c.name] = &gitTreeEntry{mode: "40000", name: c.name, oid: id}
	}
	root, err := gitTreeEdit(w.tree, hashLen, edits)
	if err != nil {
		return "", err
	}
	if err := writeTree(root); err != nil {
		return "", err
	}
	ids, err := w.hashObjects(ctx, "tree", treeFiles)
	if err != nil {
		return "", err
	}
	for i, id := range want {
		if !bytes.Equal(id, ids[i]) {
			return "", fmt.Errorf("git wrote tree %x where %x was expected", ids[i], id)
		}
	}
	args := []string{"commit-tree", hex.EncodeToString(ids[len(ids)-1]), "-m", msg}
	if !w.fresh {
		args = append(args, "-p", "refs/heads/"+w.branch)
	}
	out, err := w.repo.Run(ctx, args...)
	return strings.TrimSpace(out), err
}

// hashObjects writes the files at paths into the repository as objects of type
// typ (git checks a tree's format) with one git process and returns their ids.
// Loose objects are stored uncompressed: they live only until the push, which
// packs (and compresses, or deltifies) them anyway.
func (w *gitWork) hashObjects(ctx context.Context, typ string, paths []string) ([][]byte, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	out, err := w.repo.RunIn(ctx, strings.NewReader(strings.Join(paths, "\n")+"\n"),
		"-c", "core.looseCompression=0", "hash-object", "-t", typ, "-w", "--no-filters", "--stdin-paths")
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(out)
	if len(lines) != len(paths) {
		return nil, fmt.Errorf("git hash-object: %d ids for %d files", len(lines), len(paths))
	}
	ids := make([][]byte, len(lines))
	for i, l := range lines {
		if ids[i], err = gitOID(l, len(l)/2); err != nil {
			return nil, err
		}
	}
	return ids, nil
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
}

// Publish writes the package, its provenance, its -meta/ folder and its index
// entry in one commit.
func (g *gitCatalog) Publish(ctx context.Context, pkg *chart.Package) (Result, error) {
	file := pkg.Name() + "-" + pkg.Version() + ".tgz"
	res := Result{Catalog: g.name, Chart: pkg.Name(), Version: pkg.Version(), Digest: pkg.Digest.String(), Ref: file}
	if g.indexURL != "" {
		u, err := indexURLJoin(g.indexURL, file)
		if err != nil {
			return res, err
		}
		res.Ref = u
	}
	files, err := g.packageFiles(pkg, file)
	if err != nil {
		return res, err
	}
	res.Status = Published
	var note string
	changed, err := g.update(ctx, func(ctx context.Context, w *gitWork) ([]string, string, error) {
		note = ""
		now := g.now()
		cv, err := indexNewEntry(pkg.Metadata, g.indexURL, pkg.Digest.Encoded(), now)
		if err != nil {
			return nil, "", err
		}
		idx, ires, err := indexAdd(filepath.Join(w.dir, "index.yaml"), cv, now)
		if err != nil {
			return nil, "", fmt.Errorf("catalog %s: %w", g.name, err)
		}
		if ires.present {
			res.Status = AlreadyPublished
			return nil, "", nil
		}
		note = ires.note
		if err := files.write(w.dir, now); err != nil {
			return nil, "", err
		}
		if err := gitWriteFile(filepath.Join(w.dir, "index.yaml"), idx); err != nil {
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
		res.Status = Published
	}
	res.Note = note
	return res, nil
}

// gitPackageFiles are the files a package brings to the catalog.
type gitPackageFiles struct {
	pkg    *chart.Package
	file   string
	prov   string
	readme []byte
	schema []byte
}

func (g *gitCatalog) packageFiles(pkg *chart.Package, file string) (*gitPackageFiles, error) {
	c, err := pkg.Load()
	if err != nil {
		return nil, err
	}
	f := &gitPackageFiles{pkg: pkg, file: file, prov: pkg.ProvPath, schema: c.Schema}
	for _, cf := range c.Files {
		if cf.Name == "README.md" {
			f.readme = cf.Data
		}
	}
	return f, nil
}

func (f *gitPackageFiles) write(dir string, created time.Time) error {
	if err := gitCopyFile(f.pkg.Path, filepath.Join(dir, f.file)); err != nil {
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
	for name, data := range f.pkg.Attachments {
		if name != filepath.Base(name) || name == "main.yaml" || name == "README.md" || name == "values.schema.json" {
			return fmt.Errorf("attachment %q: give a plain file name other than main.yaml, README.md and values.schema.json", name)
		}
		if err := gitWriteFile(filepath.Join(meta, name), data); err != nil {
			return err
		}
	}
	return nil
}

func gitWriteFile(p string, data []byte) error {
	tmp := p + ".chartship-tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(p), err)
	}
	return os.Rename(tmp, p)
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
func (g *gitCatalog) readIndex(ctx context.Context) (*gitWork, []byte, error) {
	w, err := g.checkout(ctx)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(filepath.Join(w.dir, "index.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return w, nil, nil
	}
	if err != nil {
		w.close()
		return nil, nil, err
	}
	return w, data, nil
}

// indexChartEntries lists a chart's entries (version, digest) in index order:
// the line scan on a canonical file, helm's loader otherwise.
func indexChartEntries(data []byte, name string) ([]indexEntryLoc, error) {
	if lay, err := indexScan(data); err == nil {
		for _, c := range lay.charts {
			if c.name == name {
				return indexEntries(data, c)
			}
		}
		return nil, nil
	}
	var i repo.IndexFile
	if err := yaml.Unmarshal(data, &i); err != nil {
		return nil, errdef.Check(fmt.Errorf("index.yaml is not a valid Helm index: %w", err))
	}
	var out []indexEntryLoc
	for _, e := range i.Entries[name] {
		if e != nil && e.Metadata != nil {
			out = append(out, indexEntryLoc{version: e.Version, digest: e.Digest})
		}
	}
	return out, nil
}

// Versions lists the chart's versions in the index, newest first.
func (g *gitCatalog) Versions(ctx context.Context, name string) ([]string, error) {
	w, data, err := g.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	defer w.close()
	locs, err := indexChartEntries(data, name)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", g.name, err)
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("catalog %s: chart %s: %w", g.name, name, ErrNotFound)
	}
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i] = l.version
	}
	return out, nil
}

// Fetch downloads one version's archive into dir, checking its digest.
func (g *gitCatalog) Fetch(ctx context.Context, name, version, dir string) (string, error) {
	w, data, err := g.readIndex(ctx)
	if err != nil {
		return "", err
	}
	defer w.close()
	locs, err := indexChartEntries(data, name)
	if err != nil {
		return "", fmt.Errorf("catalog %s: %w", g.name, err)
	}
	var want *indexEntryLoc
	for i := range locs {
		if locs[i].version == version {
			want = &locs[i]
		}
	}
	if want == nil {
		return "", fmt.Errorf("catalog %s: %s %s: %w", g.name, name, version, ErrNotFound)
	}
	file := name + "-" + version + ".tgz"
	dst := filepath.Join(dir, file)
	if err := w.repo.RunTo(ctx, dst, "cat-file", "blob", "refs/heads/"+w.branch+":"+file); err != nil {
		return "", g.gitExternal("reading "+file, err)
	}
	if err := checkDigest(dst, want.digest); err != nil {
		os.Remove(dst)
		return "", fmt.Errorf("catalog %s: %w", g.name, err)
	}
	return dst, nil
}

// DecodeSSHKey decodes an SSH private key stored base64-encoded in a CI
// variable (as CircleCI and others keep multi-line secrets); a key that is
// already PEM text is returned as it is.
func DecodeSSHKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		return []byte(s + "\n"), nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, errdef.Usage(errors.New("the SSH key variable is neither a PEM key nor base64 of one"))
	}
	if !bytes.Contains(b, []byte("PRIVATE KEY")) {
		return nil, errdef.Usage(errors.New("the SSH key variable decodes to something that is not a private key"))
	}
	return b, nil
}
