// Package gitobj edits one branch of a remote git repository without a work
// tree and without downloading what the edit doesn't touch. A View is a bare
// clone of depth 1 holding the tip's commit and root tree but no blob and no
// sub-tree (a partial clone with --filter=tree:1), plus a staging directory
// with the root-level files asked for. Blobs are read with cat-file (git
// fetches just those on demand) and commits are written with hash-object and
// commit-tree over a tree spliced here, so the cost does not grow with the
// files or the history the repository holds.
package gitobj

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/logging"
)

// Options say which branch of which remote to view.
type Options struct {
	Remote string // the URL git is given, without credentials
	// Branch to view; "" means the remote's default branch ("main" in an empty
	// repository).
	Branch string
	Auth   git.Auth
	// SSHKey is key material (written to a private file in the view); it wins
	// over Auth.SSHKey.
	SSHKey []byte
	// Files are the root-level files put into the staging directory on Open and
	// Refresh (when the tip has them), e.g. "index.yaml".
	Files []string
	Env   []string // added to git's environment (e.g. the committer)
	// Sign signs the commits Commit makes (git.Signing; zero: unsigned).
	Sign git.Signing
	// StallTimeout abandons a transfer that stalls this long (git.Repo.StallTimeout).
	StallTimeout time.Duration
	Logger       *slog.Logger
}

// Error is a step of a view that git failed: what was tried, and git's error.
type Error struct {
	Step string
	Err  error
}

func (e *Error) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func stepErr(step string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Step: step, Err: err}
}

// View is a cheap view of one branch. Close removes it.
type View struct {
	Repo   *git.Repo // runs in the bare clone
	Dir    string    // staging: the Files, and whatever the change writes
	Branch string
	Fresh  bool // the branch doesn't exist yet on the remote
	files  []string
	tmp    string
	// tree is the tip's root tree object as git stores it (entries sorted,
	// binary object ids); hashLen is the length of those ids.
	tree    []byte
	hashLen int
}

// Close removes the view's directories.
func (v *View) Close() { os.RemoveAll(v.tmp) }

// Open makes a fresh view of the branch opts names.
func Open(ctx context.Context, opts Options) (*View, error) {
	tmp, err := os.MkdirTemp("", "chartship-git-")
	if err != nil {
		return nil, fmt.Errorf("creating a work directory: %w", err)
	}
	v := &View{tmp: tmp, Dir: filepath.Join(tmp, "files"), files: opts.Files}
	ok := false
	defer func() {
		if !ok {
			v.Close()
		}
	}()
	if err := os.MkdirAll(v.Dir, 0o755); err != nil {
		return nil, err
	}
	auth := opts.Auth
	if len(opts.SSHKey) > 0 {
		if auth.SSHKey, err = git.WriteSSHKey(tmp, opts.SSHKey); err != nil {
			return nil, err
		}
	}
	log := logging.OrDiscard(opts.Logger)
	gitDir := filepath.Join(tmp, "repo.git")
	outer := &git.Repo{Dir: tmp, Auth: auth, Logger: log, Env: opts.Env, StallTimeout: opts.StallTimeout}
	v.Repo = &git.Repo{Dir: gitDir, Auth: auth, Logger: log, Env: opts.Env, StallTimeout: opts.StallTimeout, Sign: opts.Sign}

	args := []string{"ls-remote", "--symref", opts.Remote, "HEAD"}
	if opts.Branch != "" {
		args = append(args, "refs/heads/"+opts.Branch)
	}
	out, err := outer.Run(ctx, args...)
	if err != nil {
		return nil, stepErr("reading the remote's branches", err)
	}
	v.Branch = opts.Branch
	exists := false
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "ref:" && f[2] == "HEAD" && v.Branch == "":
			v.Branch = strings.TrimPrefix(f[1], "refs/heads/")
			exists = true
		case len(f) == 2 && opts.Branch != "" && f[1] == "refs/heads/"+opts.Branch:
			exists = true
		}
	}
	if v.Branch == "" {
		v.Branch = "main" // an empty repository: start its first branch
	}
	if !exists {
		v.Fresh = true
		if _, err := outer.Run(ctx, "init", "-q", "--bare", gitDir); err != nil {
			return nil, stepErr("creating a repository", err)
		}
		if _, err := v.Repo.Run(ctx, "remote", "add", "origin", opts.Remote); err != nil {
			return nil, stepErr("starting branch "+v.Branch, err)
		}
		ok = true
		return v, nil
	}
	// tree:1 brings the root tree only; a server that allows partial clones but
	// not that filter still serves blob:none (all trees, no blobs).
	for _, filter := range []string{"tree:1", "blob:none"} {
		_, err = outer.Run(ctx, "clone", "-q", "--bare", "--filter="+filter, "--depth", "1",
			"--single-branch", "--branch", v.Branch, opts.Remote, gitDir)
		var ge *git.Error
		if err == nil || !errors.As(err, &ge) || !strings.Contains(ge.Stderr, "filter") {
			break
		}
		os.RemoveAll(gitDir)
		log.Debug("the remote refuses a filter; trying another", "filter", filter)
	}
	if err != nil {
		return nil, stepErr("cloning branch "+v.Branch, err)
	}
	if err := v.load(ctx); err != nil {
		return nil, stepErr("reading "+strings.Join(v.files, ", "), err)
	}
	ok = true
	return v, nil
}

// Refresh moves the view onto the remote branch's current tip.
func (v *View) Refresh(ctx context.Context) error {
	ref := "refs/heads/" + v.Branch
	if _, err := v.Repo.Run(ctx, "fetch", "-q", "--depth", "1", "origin", "+"+ref+":"+ref); err != nil {
		return stepErr("fetching the new tip of "+v.Branch, err)
	}
	return stepErr("fetching the new tip of "+v.Branch, v.load(ctx))
}

// load reads the tip's root tree and puts the Files into the staging dir, all
// through one cat-file (which fetches those blobs, and only them, on demand).
func (v *View) load(ctx context.Context) error {
	ref := "refs/heads/" + v.Branch
	var in strings.Builder
	in.WriteString(ref + "^{tree}\n")
	for _, f := range v.files {
		in.WriteString(ref + ":" + f + "\n")
	}
	b := &batch{rest: nil}
	var err error
	if b.rest, err = v.Repo.RunBytes(ctx, strings.NewReader(in.String()), "cat-file", "--batch"); err != nil {
		return err
	}
	oid, typ, tree, err := b.next()
	if err != nil {
		return err
	}
	if typ != "tree" {
		return fmt.Errorf("the tip of %s has no root tree (%s)", v.Branch, typ)
	}
	v.tree, v.hashLen = tree, len(oid)/2
	os.RemoveAll(v.Dir)
	if err := os.MkdirAll(v.Dir, 0o755); err != nil {
		return err
	}
	for _, f := range v.files {
		_, typ, data, err := b.next()
		if err != nil {
			return err
		}
		if typ != "blob" {
			continue // not there (yet)
		}
		if err := os.WriteFile(filepath.Join(v.Dir, f), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// batch reads the output of cat-file --batch: a header line per object, then
// its bytes.
type batch struct{ rest []byte }

func (b *batch) next() (oid, typ string, data []byte, err error) {
	hdr, body, ok := bytes.Cut(b.rest, []byte("\n"))
	f := strings.Fields(string(hdr))
	if !ok || len(f) < 2 {
		return "", "", nil, fmt.Errorf("git cat-file: unexpected output %q", hdr)
	}
	if f[len(f)-1] == "missing" {
		b.rest = body
		return "", "missing", nil, nil
	}
	var size int
	if len(f) != 3 {
		return "", "", nil, fmt.Errorf("git cat-file: unexpected output %q", hdr)
	}
	if _, err := fmt.Sscan(f[2], &size); err != nil || size < 0 || size+1 > len(body) {
		return "", "", nil, fmt.Errorf("git cat-file: unexpected output %q", hdr)
	}
	b.rest = body[size+1:]
	return f[0], f[1], body[:size], nil
}

// ReadFile writes the tip's file at path (a path in the tree) to dst.
func (v *View) ReadFile(ctx context.Context, path, dst string) error {
	return stepErr("reading "+path, v.Repo.RunTo(ctx, dst, "cat-file", "blob", "refs/heads/"+v.Branch+":"+path))
}

// Push pushes commit onto the remote branch, never forcing: a push rejected
// because the branch moved matches git.IsPushRejected.
func (v *View) Push(ctx context.Context, commit string) error {
	// Sparse reachability (git's default since 2.27, off in 2.25 and 2.26 or
	// when a user turns it off) keeps the push from walking into the sub-trees
	// it doesn't touch: in this partial clone each would be fetched, one by one.
	_, err := v.Repo.Run(ctx, "-c", "pack.useSparse=true", "push", "-q", "origin", commit+":refs/heads/"+v.Branch)
	return err
}

// Commit writes the staged names onto the tip's root tree and returns the new
// commit: a name present in Dir (a file, or a folder of files) is written, a
// name missing from Dir is deleted. Sub-trees and blobs it doesn't touch are
// referenced, never fetched. Three git processes whatever the repository's
// size: one hash-object writes every new blob, one writes the trees (built here
// by copying the tip's root tree and inserting the new entries in git's order),
// and commit-tree.
func (v *View) Commit(ctx context.Context, names []string, msg string) (string, error) {
	// Plan: which names are deleted, which are files, which are folders (of files).
	type change struct {
		name  string
		dir   bool
		first int      // index of its first blob in blobs
		files []string // a folder's file names, sorted (git's order for files)
	}
	var changes []change
	var blobs []string // paths, hashed by one process
	edits := map[string]*treeEntry{}
	for _, name := range names {
		p := filepath.Join(v.Dir, name)
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
	oids, err := v.hashObjects(ctx, "blob", blobs)
	if err != nil {
		return "", err
	}
	hashLen := v.hashLen
	if len(oids) > 0 {
		hashLen = len(oids[0])
	} else if hashLen == 0 {
		hashLen = sha1.Size // a new repository with nothing but empty folders
	}
	if len(v.tree) > 0 && hashLen != v.hashLen {
		return "", fmt.Errorf("git wrote %d-byte object ids into a repository of %d-byte ones", hashLen, v.hashLen)
	}
	// The folders' trees and the root tree, written by one process. The
	// folders' ids are computed here (the root lists them) and checked against
	// git's.
	var treeFiles []string
	var want [][]byte
	writeTree := func(t []byte) error {
		f := filepath.Join(v.tmp, fmt.Sprintf("tree-%d", len(treeFiles)))
		treeFiles = append(treeFiles, f)
		return os.WriteFile(f, t, 0o600)
	}
	for _, c := range changes {
		if !c.dir {
			edits[c.name] = &treeEntry{mode: "100644", name: c.name, oid: oids[c.first]}
			continue
		}
		var t []byte
		for i, f := range c.files {
			t = treeEntry{mode: "100644", name: f, oid: oids[c.first+i]}.appendTo(t)
		}
		id, err := objectID("tree", t, hashLen)
		if err != nil {
			return "", err
		}
		if err := writeTree(t); err != nil {
			return "", err
		}
		want = append(want, id)
		edits[c.name] = &treeEntry{mode: "40000", name: c.name, oid: id}
	}
	root, err := treeEdit(v.tree, hashLen, edits)
	if err != nil {
		return "", err
	}
	if err := writeTree(root); err != nil {
		return "", err
	}
	ids, err := v.hashObjects(ctx, "tree", treeFiles)
	if err != nil {
		return "", err
	}
	for i, id := range want {
		if !bytes.Equal(id, ids[i]) {
			return "", fmt.Errorf("git wrote tree %x where %x was expected", ids[i], id)
		}
	}
	args := []string{"commit-tree", v.Repo.Sign.SignArg(), hex.EncodeToString(ids[len(ids)-1]), "-m", msg}
	if !v.Fresh {
		args = append(args, "-p", "refs/heads/"+v.Branch)
	}
	out, err := v.Repo.Run(ctx, args...)
	return strings.TrimSpace(out), v.Repo.Sign.Explain(err)
}

// hashObjects writes the files at paths into the repository as objects of type
// typ (git checks a tree's format) with one git process and returns their ids.
// Loose objects are stored uncompressed: they live only until the push, which
// packs (and compresses, or deltifies) them anyway.
func (v *View) hashObjects(ctx context.Context, typ string, paths []string) ([][]byte, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	out, err := v.Repo.RunIn(ctx, strings.NewReader(strings.Join(paths, "\n")+"\n"),
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
		if ids[i], err = parseOID(l, len(l)/2); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
