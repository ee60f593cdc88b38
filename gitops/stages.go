package gitops

import (
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// OCIRef is an OCIRepository's spec.ref (source.toolkit.fluxcd.io/v1).
type OCIRef struct {
	Digest       string `json:"digest,omitempty"`
	SemVer       string `json:"semver,omitempty"`
	SemverFilter string `json:"semverFilter,omitempty"`
	Tag          string `json:"tag,omitempty"`
}

// String is the ref as people read it: "semver *-* filter .*-rc\..*".
func (r OCIRef) String() string {
	switch {
	case r.Digest != "":
		return "digest " + r.Digest
	case r.SemVer != "":
		if r.SemverFilter != "" {
			return fmt.Sprintf("semver %s, semverFilter %s", r.SemVer, r.SemverFilter)
		}
		return "semver " + r.SemVer
	case r.Tag != "":
		return "tag " + r.Tag
	}
	return "no ref (tag latest)"
}

var manifestDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ErrNoMatch is source-controller's "no match found for semver".
var ErrNoMatch = fmt.Errorf("no match found")

// ResolveOCIRef is the artifact reference an OCIRepository resolves to among
// the registry's tags, with source-controller's semantics:
//
//   - spec.ref.digest wins over semver, semver over tag; no ref is "latest";
//   - semver: semverFilter, when set, is a Go regexp applied unanchored
//     (MatchString) to each tag first; tags that aren't strict semver (a
//     leading "v" allowed) are dropped; the Masterminds range is checked
//     (pre-releases only when the range names one); the highest wins, and the
//     tag is returned as written ("v1.2.3" stays "v1.2.3");
//   - ties between tags of equal precedence ("1.2.3" and "v1.2.3", build
//     metadata) are broken as source-controller breaks them: its
//     sort.Sort(sort.Reverse(semver.Collection)) over the tags in the
//     registry's order, which distribution lists lexically.
//
// The result is a tag, or "@" + digest for a digest ref.
func ResolveOCIRef(ref OCIRef, tags []string) (string, error) {
	c, err := compileOCIRef(ref)
	if err != nil {
		return "", err
	}
	return c.resolve(parseTags(tags))
}

// parsedTag is a registry tag and its version (nil: not semver, dropped).
type parsedTag struct {
	tag string
	v   *semver.Version
}

// parseTags turns catalog versions into OCI tags ("+" is "_") in the order a
// distribution registry lists them (lexical), each parsed as Flux parses it.
func parseTags(versions []string) []parsedTag {
	tags := make([]string, len(versions))
	for i, v := range versions {
		tags[i] = ociTag(v)
	}
	sort.Strings(tags)
	out := make([]parsedTag, len(tags))
	for i, t := range tags {
		out[i].tag = t
		if v, err := parseFluxVersion(t); err == nil {
			out[i].v = v
		}
	}
	return out
}

type compiledOCIRef struct {
	ref        OCIRef
	filter     *regexp.Regexp
	constraint *semver.Constraints
}

func compileOCIRef(ref OCIRef) (*compiledOCIRef, error) {
	c := &compiledOCIRef{ref: ref}
	if ref.Digest != "" || ref.SemVer == "" {
		return c, nil
	}
	if ref.SemverFilter != "" {
		re, err := regexp.Compile(ref.SemverFilter)
		if err != nil {
			return nil, fmt.Errorf("spec.ref.semverFilter %q is not a valid regular expression (Go RE2 syntax): %v", ref.SemverFilter, err)
		}
		c.filter = re
	}
	cs, err := semver.NewConstraint(ref.SemVer)
	if err != nil {
		hint := "fix the range"
		if strings.Contains(ref.SemVer, "-*") {
			hint = `a pre-release part can't be "*": for any version, pre-releases included, write ">=0.0.0-0" (or "*-0")`
		}
		return nil, fmt.Errorf("spec.ref.semver %q: Masterminds/semver, which source-controller uses, rejects the range (%v), so Flux fails to reconcile the OCIRepository: %s", ref.SemVer, err, hint)
	}
	c.constraint = cs
	return c, nil
}

func (c *compiledOCIRef) resolve(tags []parsedTag) (string, error) {
	switch {
	case c.ref.Digest != "":
		return "@" + c.ref.Digest, nil
	case c.ref.SemVer == "" && c.ref.Tag != "":
		return c.ref.Tag, nil
	case c.ref.SemVer == "":
		return "latest", nil
	}
	var matching []*semver.Version
	for _, t := range tags {
		if c.filter != nil && !c.filter.MatchString(t.tag) {
			continue
		}
		if t.v != nil && c.constraint.Check(t.v) {
			matching = append(matching, t.v)
		}
	}
	if len(matching) == 0 {
		return "", fmt.Errorf("%w for semver: %s", ErrNoMatch, c.ref.SemVer)
	}
	sort.Sort(sort.Reverse(semver.Collection(matching)))
	return matching[0].Original(), nil
}

func ociTag(version string) string { return strings.ReplaceAll(version, "+", "_") }

// Stage is one commit-less release stage of the fleet: an OCIRepository (or a
// HelmRelease's chart.spec.version range) whose version Flux resolves in the
// cluster from the registry's tags, and what this publish does to it.
type Stage struct {
	Cluster string `json:"cluster"` // the file's directory: the cluster path
	File    string `json:"file"`
	Line    int    `json:"line"`
	Object  string `json:"object"` // "OCIRepository flux-system/hello"
	URL     string `json:"url,omitempty"`
	Ref     OCIRef `json:"ref"`
	// Now is what Flux resolves before this version is published, After what
	// it resolves once it is ("" when nothing matches).
	Now   string `json:"now,omitempty"`
	After string `json:"after,omitempty"`
	// Moves: this cluster gets the new version (for a ref.tag: by this bump's
	// commit).
	Moves bool   `json:"moves"`
	Why   string `json:"why"`
	// HelmReleases install what the OCIRepository resolves (spec.chartRef).
	HelmReleases []string `json:"helmReleases,omitempty"`
	// Receivers are the notification-controller Receivers that reconcile it
	// when called (chartship notify).
	Receivers []string `json:"receivers,omitempty"`
}

// stage computes the stage of a relevant OCIRepository or HelmRelease range.
// change is the bump's change of the same reference, if any (ref.tag).
func (pl *planner) stage(r *ref, line int, change *Change) (Stage, error) {
	st := Stage{Cluster: path.Dir(r.file), File: r.file, Line: line, Object: r.object, URL: r.url}
	if r.oci != nil {
		st.Ref = OCIRef{Digest: r.oci.digest, SemVer: r.oci.semver, SemverFilter: r.oci.filter, Tag: r.oci.tag}
	} else { // a HelmRelease chart.spec.version range: the HelmChart follows it
		st.Ref = OCIRef{SemVer: r.node.Value}
	}
	newTag := ociTag(pl.req.Version)
	res := pl.resolveRef(st.Ref)
	c, now, nowErr, after, afterErr := res.c, res.now, res.nowErr, res.after, res.afterErr
	if res.err != nil {
		return st, fmt.Errorf("%s: %v", r.object, res.err)
	}
	if nowErr == nil {
		st.Now = now
	}
	if afterErr == nil {
		st.After = after
	}
	switch {
	case st.Ref.Digest != "" && change != nil:
		st.After, st.Moves = change.New+"@"+pl.req.Digest, stripV(change.New) == stripV(newTag)
		st.Why = fmt.Sprintf("pinned by spec.ref.digest; this bump commits the tag %s → %s and the digest it was pushed with", change.Old, change.New)
	case st.Ref.Digest != "":
		st.Why = "pinned by spec.ref.digest, which wins over semver and tag"
	case st.Ref.SemVer == "" && change != nil:
		st.After, st.Moves = change.New, stripV(change.New) == stripV(newTag)
		st.Why = fmt.Sprintf("pinned to tag %s; this bump commits %s → %s (%s)", st.Now, change.Old, change.New, change.Policy)
	case st.Ref.SemVer == "" && st.Ref.Tag != "":
		st.Why = fmt.Sprintf("pinned to tag %s: only a commit moves it", st.Ref.Tag)
	case st.Ref.SemVer == "":
		st.Why = "no spec.ref: Flux pulls the tag latest"
	case nowErr == nil && st.Now == st.After && stripV(st.After) == stripV(newTag):
		st.Why = "already resolves to " + st.After
	case afterErr == nil && stripV(st.After) == stripV(newTag):
		st.Moves = true
		if st.Now == "" {
			st.Why = fmt.Sprintf("gets %s (nothing matched before)", st.After)
		} else {
			st.Why = fmt.Sprintf("gets %s (was %s)", st.After, st.Now)
		}
	case c.filter != nil && !c.filter.MatchString(newTag):
		st.Why = fmt.Sprintf("semverFilter %s does not match %s", st.Ref.SemverFilter, newTag)
	default:
		v, err := parseFluxVersion(newTag)
		switch {
		case err != nil:
			st.Why = fmt.Sprintf("%s is not a semantic version: Flux drops the tag", newTag)
		case !c.constraint.Check(v) && v.Prerelease() != "":
			st.Why = fmt.Sprintf("semver %s admits no pre-release like %s (a range admits them only when it names one: add -0, e.g. >=0.0.0-0)", st.Ref.SemVer, newTag)
		case !c.constraint.Check(v):
			st.Why = fmt.Sprintf("semver %s does not admit %s", st.Ref.SemVer, newTag)
		default:
			st.Why = fmt.Sprintf("stays on %s, which is higher than %s", st.After, newTag)
		}
	}
	return st, nil
}

// resolvedRef is one distinct spec.ref resolved before and after the publish;
// fleets repeat a few stage configurations across many clusters.
type resolvedRef struct {
	c                *compiledOCIRef
	err              error
	now, after       string
	nowErr, afterErr error
}

func (pl *planner) resolveRef(ref OCIRef) *resolvedRef {
	if r, ok := pl.resolved.Load(ref); ok {
		return r.(*resolvedRef)
	}
	r := &resolvedRef{}
	if r.c, r.err = compileOCIRef(ref); r.err == nil {
		r.now, r.nowErr = r.c.resolve(pl.beforeTags)
		r.after, r.afterErr = r.c.resolve(pl.afterTags)
	}
	pl.resolved.Store(ref, r)
	return r
}

func stripV(s string) string { return strings.TrimPrefix(s, "v") }

// link fills in the HelmReleases and Receivers of an OCIRepository stage.
// Every cluster of a fleet repository may hold an OCIRepository of the same
// namespace/name, so a chartRef or a Receiver belongs to the stage whose file
// shares the longest directory prefix with it.
func (pl *planner) link(stages []Stage) {
	type key struct{ ns, name string }
	byKey := map[key][]int{}
	for i := range stages {
		kind, obj, _ := strings.Cut(stages[i].Object, " ")
		if kind != KindOCIRepository {
			continue
		}
		ns, name, ok := strings.Cut(obj, "/")
		if !ok {
			ns, name = "", obj
		}
		byKey[key{ns, name}] = append(byKey[key{ns, name}], i)
	}
	nearest := func(ns, name, file string) []int {
		var best []int
		bestLen := -1
		for k, idx := range byKey {
			if k.name != name && name != "*" || !(k.ns == "" || ns == "" || k.ns == ns) {
				continue
			}
			for _, i := range idx {
				switch l := commonDirs(stages[i].File, file); {
				case l > bestLen:
					best, bestLen = []int{i}, l
				case l == bestLen:
					best = append(best, i)
				}
			}
		}
		return best
	}
	for _, c := range pl.charts {
		if c.kind != KindOCIRepository {
			continue
		}
		for _, i := range nearest(c.ns, c.name, c.file) {
			stages[i].HelmReleases = append(stages[i].HelmReleases, fmt.Sprintf("%s (%s:%d)", c.object, c.file, c.line))
		}
	}
	for _, rc := range pl.recvs {
		seen := map[int]bool{}
		for _, res := range rc.resources {
			if res.kind != KindOCIRepository {
				continue
			}
			for _, i := range nearest(res.namespace, res.name, rc.file) {
				if !seen[i] {
					seen[i] = true
					stages[i].Receivers = append(stages[i].Receivers, qualified(rc.namespace, rc.name))
				}
			}
		}
	}
}

// commonDirs is the number of leading directories two slash paths of files
// share.
func commonDirs(a, b string) int {
	n := 0
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] == '/' {
			n++
		}
	}
	return n
}

// checkChartRefs reports chartRefs of a file that name an OCIRepository the
// repository lacks.
func (pl *planner) checkChartRefs(s *fileScan) []Problem {
	var out []Problem
	for _, c := range s.charts {
		if c.kind != KindOCIRepository || strings.Contains(c.name, "${") {
			continue
		}
		found := false
		for _, o := range pl.ociByName[c.name] {
			if o.namespace == "" || o.namespace == c.ns {
				found = true
				break
			}
		}
		if !found {
			out = append(out, Problem{File: s.path, Line: c.line, Message: fmt.Sprintf("%s spec.chartRef names OCIRepository %s, which is not in this repository: add it or fix the chartRef", c.object, qualified(c.ns, c.name))})
		}
	}
	return out
}

// MovingReceivers are the Receivers (namespace/name) of the stages that move:
// the ones `chartship notify` should call, each once.
func (p *Plan) MovingReceivers() []string {
	seen := map[string]bool{}
	out := []string{}
	for _, st := range p.Stages {
		if !st.Moves {
			continue
		}
		for _, r := range st.Receivers {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.Strings(out)
	return out
}

// StagesText prints the stage plan grouped by cluster path: who gets this
// release, who doesn't, and why.
func (p *Plan) StagesText(w io.Writer) {
	if len(p.Stages) == 0 {
		return
	}
	moving := 0
	for _, st := range p.Stages {
		if st.Moves {
			moving++
		}
	}
	fmt.Fprintf(w, "  stages: %d of %d get %s %s\n", moving, len(p.Stages), p.Chart, p.Version)
	cluster := ""
	for _, st := range p.Stages {
		if st.Cluster != cluster || cluster == "" {
			cluster = st.Cluster
			fmt.Fprintf(w, "    %s/\n", cluster)
		}
		mark := "stays"
		switch {
		case st.Moves:
			mark = "GETS "
		case st.Now != st.After:
			mark = "moves"
		}
		now, after := orDefault(st.Now, "(none)"), orDefault(st.After, "(none)")
		fmt.Fprintf(w, "      %s %s:%d %s [%s]: %s → %s: %s\n", mark, path.Base(st.File), st.Line, st.Object, st.Ref, now, after, st.Why)
		for _, h := range st.HelmReleases {
			fmt.Fprintf(w, "          installed by %s\n", h)
		}
		if len(st.Receivers) > 0 {
			fmt.Fprintf(w, "          receivers: %s\n", strings.Join(st.Receivers, ", "))
		}
	}
}
