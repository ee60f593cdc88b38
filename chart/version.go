package chart

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/chartship/chartship/internal/errdef"
)

// MaxVersionLength bounds a generated dev version: it must fit a Kubernetes label
// value (63 characters), where Flux and Helm put chart versions.
const MaxVersionLength = 63

// VersionSource says where a chart version came from.
type VersionSource string

const (
	VersionFromFlag VersionSource = "flag" // VersionOptions.Version
	VersionFromTag  VersionSource = "tag"  // HEAD is exactly on a release tag
	VersionFromDev  VersionSource = "dev"  // a dev pre-release after the last tag
)

// VersionOptions decide the chart version.
type VersionOptions struct {
	// Version, when set, is used as is (it must be strict semver) and no git
	// repository is needed.
	Version string
	// TagPrefix is what release tags start with; default "v". Monorepos use e.g. "myapp/v".
	TagPrefix string
	// AllowBuildMetadata accepts a version with "+build" metadata; off by default
	// because "+" breaks OCI tags and Flux's semver parsing.
	AllowBuildMetadata bool
	// Branch names the branch in dev versions; default: git's current branch
	// ("detached" on a detached HEAD). CI systems that check out a detached HEAD
	// pass their branch here.
	Branch string
	// Remote is fetched from when the clone is shallow; default "origin".
	Remote string
	// NoFetch forbids fetching history and tags into a shallow clone: resolving
	// fails with the git command to run instead.
	NoFetch bool
	// DevSchema is how dev builds are versioned; "" is DevSchemaRFC.
	DevSchema DevSchema
}

// Version is the resolved chart version and how it was decided.
type Version struct {
	Version    string        `json:"version"`
	Source     VersionSource `json:"source"`
	Tag        string        `json:"tag,omitempty"`     // the exact tag, or the last release tag a dev version builds on
	Branch     string        `json:"branch,omitempty"`  // branch of a dev version: as git names it (rfc schema), sanitised (legacy)
	Commit     string        `json:"commit,omitempty"`  // HEAD's full sha, when in a git repository
	CommitTime time.Time     `json:"commitTime"`        // HEAD's committer time; zero outside git
	RepoRoot   string        `json:"-"`                 // the git work tree, "" outside git
	Fetched    bool          `json:"fetched,omitempty"` // a shallow clone was deepened to find tags
	// Dirty: the work tree has uncommitted changes, so the package holds more
	// than the commit (and tag) its version names. Build warns.
	Dirty bool `json:"dirty,omitempty"`
	// BranchChecksum is the r<crc> of an rfc dev version (see BranchChecksum).
	BranchChecksum string `json:"branchChecksum,omitempty"`
}

func (o VersionOptions) withDefaults() VersionOptions {
	if o.TagPrefix == "" {
		o.TagPrefix = DefaultTagPrefix
	}
	if o.Remote == "" {
		o.Remote = DefaultRemote
	}
	return o
}

// ResolveVersion decides the version of the chart in dir (any directory inside
// the git work tree): opts.Version when set; else HEAD's release tag
// (<prefix>X.Y.Z → X.Y.Z); else a dev pre-release after the highest release tag
// reachable from HEAD, by default X.Y.(Z+1)-r<crc32>t<YYYYMMDDHHMMSS>h<sha7>
// (see RFCDevVersion; opts.DevSchema legacy: DevVersion), the commit time in
// UTC (0.0.1-… without tags). A dev commit on a nobuild/… branch returns an
// error matching ErrNoBuild. A shallow clone is deepened with
// `git fetch --unshallow --tags` unless opts.NoFetch.
func ResolveVersion(ctx context.Context, dir string, opts VersionOptions) (Version, error) {
	opts = opts.withDefaults()
	prefix, err := tagPrefixFor(opts.TagPrefix, dir)
	if err != nil {
		return Version{}, err
	}
	opts.TagPrefix = prefix
	if opts.Version != "" {
		v := Version{Version: opts.Version, Source: VersionFromFlag}
		if err := checkVersion(opts.Version, "--version", opts.AllowBuildMetadata); err != nil {
			return v, err
		}
		// Best effort: the commit time still fixes archive mtimes.
		if g, err := openGit(ctx, dir); err == nil {
			if head, t, err := g.head(ctx); err == nil {
				v.Commit, v.CommitTime, v.RepoRoot = head, t, g.root
			}
		}
		return v, nil
	}

	g, err := openGit(ctx, dir)
	if err != nil {
		return Version{}, err
	}
	head, commitTime, err := g.head(ctx)
	if err != nil {
		return Version{}, errdef.Usage(fmt.Errorf("reading HEAD of the git repository %s: %w; commit the chart or pass --version", g.root, err))
	}
	v := Version{Commit: head, CommitTime: commitTime, RepoRoot: g.root}
	if v.Dirty, err = g.isDirty(ctx); err != nil {
		return v, err
	}

	exact, malformed, err := g.releaseTags(ctx, opts.TagPrefix, "--points-at", "HEAD")
	if err != nil {
		return v, err
	}
	if len(exact) == 0 {
		shallow, err := g.isShallow(ctx)
		if err != nil {
			return v, err
		}
		if shallow {
			fix := fmt.Sprintf("git -C %s fetch --unshallow --tags %s", shellQuote(g.root), shellQuote(opts.Remote))
			if opts.NoFetch {
				return v, errdef.Usage(fmt.Errorf("%s is a shallow clone and HEAD has no %s* tag, so the last release tag is unknown: run `%s` and retry, or pass --version", g.root, opts.TagPrefix, fix))
			}
			if _, err := g.run(ctx, "fetch", "--quiet", "--unshallow", "--tags", opts.Remote); err != nil {
				return v, errdef.External(fmt.Errorf("deepening the shallow clone %s from remote %q to find release tags: %w; run `%s` yourself and retry, or pass --version", g.root, opts.Remote, err, fix))
			}
			v.Fetched = true
			if exact, malformed, err = g.releaseTags(ctx, opts.TagPrefix, "--points-at", "HEAD"); err != nil {
				return v, err
			}
		}
	}
	if len(exact) == 0 && len(malformed) > 0 {
		bad := malformed[0]
		return v, errdef.Usage(fmt.Errorf("HEAD is tagged %s, which looks like a release tag but %q is not a semantic version (X.Y.Z): tag the release %s (e.g. git tag %s%s), or delete the tag",
			bad, strings.TrimPrefix(bad, opts.TagPrefix), opts.TagPrefix+"X.Y.Z", opts.TagPrefix, suggestSemver(strings.TrimPrefix(bad, opts.TagPrefix))))
	}
	if len(exact) > 0 {
		t := exact[0] // highest
		v.Version, v.Source, v.Tag = t.version.Original(), VersionFromTag, t.name
		if err := checkVersion(v.Version, "tag "+t.name, opts.AllowBuildMetadata); err != nil {
			return v, err
		}
		return v, nil
	}

	base := semver.New(0, 0, 0, "", "")
	last, err := g.lastReleaseTag(ctx, opts.TagPrefix)
	if err != nil {
		return v, err
	}
	if last != nil { // dev versions build on releases
		base, v.Tag = last.version, last.name
	}
	branch := opts.Branch
	if branch == "" {
		branch, err = g.branch(ctx)
		if err != nil {
			return v, err
		}
	}
	if strings.HasPrefix(branch, NoBuildPrefix) {
		v.Branch, v.Source = branch, VersionFromDev
		return v, fmt.Errorf("branch %s, commit %.7s is on no %s* tag: %w", branch, head, opts.TagPrefix, ErrNoBuild)
	}
	schema, err := ParseDevSchema(string(opts.DevSchema))
	if err != nil {
		return v, err
	}
	v.Version = devVersion(schema, base, branch, commitTime, head)
	v.Source = VersionFromDev
	if schema == DevSchemaLegacy {
		_, rest, _ := strings.Cut(v.Version, "-dev.")
		v.Branch, _, _ = strings.Cut(rest, ".")
	} else {
		v.Branch, v.BranchChecksum = branch, BranchChecksum(branch)
	}
	return v, nil
}

// DevVersion is the dev pre-release after base: X.Y.(Z+1)-dev.<branch>.<YYYYMMDDHHMMSS>.h<sha7>.
// The branch is sanitised to [0-9A-Za-z-] and shortened so that the whole version
// fits MaxVersionLength. It sorts above base and below the next patch release, and
// dev versions of one branch sort by commit time.
func DevVersion(base *semver.Version, branch string, commitTime time.Time, sha string) string {
	next := semver.New(base.Major(), base.Minor(), base.Patch()+1, "", "")
	if len(sha) > 7 {
		sha = sha[:7]
	}
	sha = sanitizeIdent(sha)
	if sha == "" {
		sha = "0000000"
	}
	head := next.String() + "-dev."
	tail := "." + commitTime.UTC().Format("20060102150405") + ".h" + sha
	return head + sanitizeBranch(branch, MaxVersionLength-len(head)-len(tail)) + tail
}

// sanitizeBranch turns a git branch into one semver pre-release identifier of at
// most max characters: runs of characters outside [0-9A-Za-z-] become one "-",
// leading/trailing "-" go, an empty result is "x", and an all-digit one gets a
// "b" prefix (numeric identifiers sort numerically and must not start with 0).
func sanitizeBranch(branch string, max int) string {
	max = maxInt(max, 1)
	s := sanitizeIdent(branch)
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	if s == "" {
		s = "x"
	}
	if strings.Trim(s, "0123456789") == "" {
		s = "b" + s
		if len(s) > max {
			s = s[:max]
		}
	}
	return s
}

func sanitizeIdent(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r < 128 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// checkVersion accepts strict semver (what Helm and OCI registries need),
// without "+" metadata unless allowed.
func checkVersion(v, from string, allowMetadata bool) error {
	sv, err := semver.StrictNewVersion(v)
	if err != nil {
		hint := "use a semantic version like 1.2.3 or 1.2.3-rc.1"
		if strings.HasPrefix(v, "v") {
			hint = "drop the leading v: " + strings.TrimPrefix(v, "v")
		}
		return errdef.Usage(fmt.Errorf("version %q from %s is not a semantic version (%v): %s", v, from, err, hint))
	}
	if sv.Metadata() != "" && !allowMetadata {
		return errdef.Usage(fmt.Errorf("version %q from %s has +build metadata, which breaks OCI tags and Flux's semver parsing: drop %q or pass --allow-build-metadata", v, from, "+"+sv.Metadata()))
	}
	return nil
}

// errNoGit is returned when a version is needed from git and there is none.
var errNoGit = errors.New("not in a git repository")

type taggedVersion struct {
	name    string
	version *semver.Version
}

// releaseTags lists tags <prefix><semver> filtered by git tag flags, highest
// first, and those that look like release tags — <prefix> then a digit — but are
// not <prefix><semver>: v1.2, v1.2.3.4, v01.2.3.
func (g *gitRepo) releaseTags(ctx context.Context, prefix string, filter ...string) ([]taggedVersion, []string, error) {
	args := append([]string{"tag", "--list"}, filter...)
	args = append(args, prefix+"*")
	out, err := g.run(ctx, args...)
	if err != nil {
		return nil, nil, errdef.Usage(fmt.Errorf("listing %s* tags in %s: %w", prefix, g.root, err))
	}
	var tags []taggedVersion
	var malformed []string
	for _, name := range strings.Fields(out) {
		rest := strings.TrimPrefix(name, prefix)
		sv, err := semver.StrictNewVersion(rest)
		if err != nil { // not a release tag
			if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
				malformed = append(malformed, name)
			}
			continue
		}
		tags = append(tags, taggedVersion{name: name, version: sv})
	}
	for i := 1; i < len(tags); i++ { // few tags: insertion sort, highest first
		for j := i; j > 0 && tags[j].version.GreaterThan(tags[j-1].version); j-- {
			tags[j], tags[j-1] = tags[j-1], tags[j]
		}
	}
	return tags, malformed, nil
}

// lastReleaseTag is the highest <prefix><release> tag (no pre-release)
// reachable from HEAD; nil for none.
func (g *gitRepo) lastReleaseTag(ctx context.Context, prefix string) (*taggedVersion, error) {
	tags, _, err := g.releaseTags(ctx, prefix, "--merged", "HEAD")
	if err != nil {
		return nil, err
	}
	for i, t := range tags {
		if t.version.Prerelease() == "" {
			return &tags[i], nil
		}
	}
	return nil, nil
}

// suggestSemver completes a short version to X.Y.Z for a hint ("1.2" → "1.2.0").
func suggestSemver(v string) string {
	if sv, err := semver.NewVersion(v); err == nil {
		return sv.String()
	}
	return "1.2.3"
}

func (g *gitRepo) head(ctx context.Context) (string, time.Time, error) {
	out, err := g.run(ctx, "log", "-1", "--format=%H %ct", "HEAD")
	if err != nil {
		return "", time.Time{}, err
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return "", time.Time{}, fmt.Errorf("unexpected git log output %q", out)
	}
	sec, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("unexpected commit time %q", f[1])
	}
	return f[0], time.Unix(sec, 0).UTC(), nil
}

func (g *gitRepo) branch(ctx context.Context) (string, error) {
	out, err := g.run(ctx, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		return "detached", nil // detached HEAD; CI passes VersionOptions.Branch
	}
	return strings.TrimSpace(out), nil
}

func (g *gitRepo) isDirty(ctx context.Context) (bool, error) {
	out, err := g.run(ctx, "status", "--porcelain", "--untracked-files=normal")
	if err != nil {
		return false, errdef.Usage(fmt.Errorf("checking %s for uncommitted changes: %w", g.root, err))
	}
	return strings.TrimSpace(out) != "", nil
}

func (g *gitRepo) isShallow(ctx context.Context) (bool, error) {
	out, err := g.run(ctx, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return false, errdef.Usage(fmt.Errorf("checking whether %s is a shallow clone: %w", g.root, err))
	}
	return strings.TrimSpace(out) == "true", nil
}

// repoDirName is the repository's name as the directory holding it.
func (v Version) repoDirName() string {
	if v.RepoRoot == "" {
		return ""
	}
	return filepath.Base(v.RepoRoot)
}

// IsPrerelease reports whether version is a pre-release (1.2.3-rc.1,
// 1.2.3-r…, 1.2.3-dev.…). Routing asks IsDevBuild instead: a release candidate
// is a pre-release but a release. A version that isn't strict semver counts as
// a pre-release, never as a release.
func IsPrerelease(version string) bool {
	v, err := semver.StrictNewVersion(version)
	return err != nil || v.Prerelease() != ""
}

// NewestRelease is the highest release in versions — strict semver without a
// pre-release part, as IsPrerelease decides — below the version below ("": no
// bound), as written; "" for none, or when below isn't strict semver.
func NewestRelease(versions []string, below string) string {
	var limit *semver.Version
	if below != "" {
		var err error
		if limit, err = semver.StrictNewVersion(below); err != nil {
			return ""
		}
	}
	var best *semver.Version
	for _, s := range versions {
		v, err := semver.StrictNewVersion(s)
		if err != nil || v.Prerelease() != "" || limit != nil && !v.LessThan(limit) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best = v
		}
	}
	if best == nil {
		return ""
	}
	return best.Original()
}
