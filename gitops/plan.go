package gitops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/chartship/chartship/internal/atomicfile"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
)

// Request says which chart was released and how references may move.
type Request struct {
	Chart   string `json:"chart"`   // chart (App) name
	Version string `json:"version"` // the version just released
	// Available are the other versions the catalog offers; policies choose the
	// highest allowed among Available and Version.
	Available []string `json:"available,omitempty"`
	// Registry, when set, limits OCIRepository and ImageRepository references to
	// those under this registry namespace (oci://HOST/PATH).
	Registry string `json:"registry,omitempty"`
	// Catalog, when set, limits App references to this spec.catalog.
	Catalog string `json:"catalog,omitempty"`
	// Source, when set, limits HelmRelease references to this
	// spec.chart.spec.sourceRef: NAME, KIND/NAME or KIND/NAMESPACE/NAME.
	Source string `json:"source,omitempty"`
	// Policy is the rule for references without an ImagePolicy: same-major
	// (default), same-minor, latest, none, or a semver range.
	Policy string `json:"policy,omitempty"`
	// Digest is the OCI manifest digest Version was pushed with (sha256:…),
	// when known: written where a :digest marker, a whole-image marker or an
	// OCIRepository spec.ref.digest asks for it, as Flux would with
	// digestReflectionPolicy.
	Digest string `json:"digest,omitempty"`
	// Proven, when not nil, bumps only along proven upgrade paths: a
	// reference at version C moves to V only when C is in Proven[V] (a signed
	// upgrade-test attestation of V says the upgrade from C passed; see
	// sign.Verifier.ProvenUpgrades). `chartship bump --require-upgrade-test`.
	Proven map[string][]string `json:"proven,omitempty"`
}

// Options tune planning.
type Options struct {
	Logger  *slog.Logger
	Workers int // parallel file readers; 0 means twice GOMAXPROCS
}

// Change is one scalar to rewrite.
type Change struct {
	File   string `json:"file"` // slash path relative to the repository root
	Line   int    `json:"line"`
	Kind   string `json:"kind"`             // App, HelmRelease, OCIRepository or marker
	Object string `json:"object,omitempty"` // "App default/hello-world"
	Field  string `json:"field,omitempty"`  // spec.version …
	Marker string `json:"marker,omitempty"` // the $imagepolicy setter, if any
	Old    string `json:"old"`
	New    string `json:"new"`
	Policy string `json:"policy"` // the rule that allowed it and where it lives
	// Image is the ImageRepository the ImagePolicy reads tags from, if in the repository.
	Image string `json:"image,omitempty"`
}

// Left is a reference to the chart that the plan leaves alone, and why.
type Left struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Kind   string `json:"kind"`
	Object string `json:"object,omitempty"`
	Field  string `json:"field,omitempty"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// Plan is what a bump would do to one repository, computed before anything is
// written.
type Plan struct {
	Chart    string    `json:"chart"`
	Version  string    `json:"version"`
	Changes  []Change  `json:"changes"`
	Left     []Left    `json:"left,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
	// Stages is the commit-less stage plan: every OCIRepository (and
	// HelmRelease version range) of the chart, what Flux resolves now and
	// after this version is published, grouped by cluster path (see Stage).
	Stages []Stage `json:"stages,omitempty"`

	contents map[string][]byte // new content of each changed file
}

// Files returns the paths (relative, slash-separated) the plan rewrites.
func (p *Plan) Files() []string {
	var out []string
	for f := range p.contents {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Content returns the new content of a file the plan rewrites.
func (p *Plan) Content(file string) ([]byte, bool) {
	b, ok := p.contents[file]
	return b, ok
}

// ErrBadInput means some files held bad input (see Plan.Problems); they were
// left untouched.
var ErrBadInput = errors.New("bad input in the GitOps repository")

// Err returns an error (matching ErrBadInput, classified as usage) listing the
// problems, or nil when there are none.
func (p *Plan) Err() error {
	if len(p.Problems) == 0 {
		return nil
	}
	lines := make([]string, len(p.Problems))
	for i, pr := range p.Problems {
		lines[i] = pr.String()
	}
	return errdef.Usage(fmt.Errorf("%w (%d problem(s); those files were left untouched, fix them and run again):\n  %s",
		ErrBadInput, len(p.Problems), strings.Join(lines, "\n  ")))
}

// Validate checks a request before any repository is read.
func (r Request) Validate() error {
	if r.Chart == "" {
		return errdef.Usage(errors.New("no chart given: set --chart NAME"))
	}
	if _, err := parseFluxVersion(r.Version); err != nil {
		return errdef.Usage(fmt.Errorf("version %q is not a semantic version (%v): set --version to the released chart version", r.Version, err))
	}
	if err := ValidPolicyRule(r.Policy); err != nil {
		return errdef.Usage(err)
	}
	if r.Digest != "" && !manifestDigest.MatchString(r.Digest) {
		return errdef.Usage(fmt.Errorf("digest %q: give the OCI manifest digest the version was pushed with, sha256:<64 hex digits>", r.Digest))
	}
	return nil
}

// PlanDir finds every reference to req.Chart in the YAML files under dir and
// decides the new value of each. It writes nothing. Bad input is reported in
// Plan.Problems per file; those files get no changes.
func PlanDir(ctx context.Context, dir string, req Request, opts Options) (*Plan, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	log := logging.OrDiscard(opts.Logger)
	scans, err := scanTree(ctx, dir, opts.Workers)
	if err != nil {
		return nil, errdef.Usage(err)
	}
	pl := &planner{req: req, available: availableTags(req)}
	var before []string // the tags before this publish
	for _, t := range pl.available {
		if t != req.Version {
			before = append(before, t)
		}
	}
	for _, s := range scans {
		pl.policies = append(pl.policies, s.policies...)
		pl.repos = append(pl.repos, s.repos...)
		pl.ocis = append(pl.ocis, s.ocis...)
		pl.charts = append(pl.charts, s.charts...)
		pl.recvs = append(pl.recvs, s.recvs...)
	}
	pl.beforeTags, pl.afterTags = parseTags(before), parseTags(pl.available)
	pl.parsed = newParsedVersions(pl.available)
	pl.index()
	// Files are planned in parallel, each into its own partial plan, merged in
	// path order so the plan is deterministic.
	parts := make([]Plan, len(scans))
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	parallel(ctx, len(scans), workers, func() struct{} { return struct{}{} }, func(_ struct{}, i int) struct{} {
		parts[i].contents = map[string][]byte{}
		pl.planFile(scans[i], &parts[i])
		return struct{}{}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	plan := &Plan{Chart: req.Chart, Version: req.Version, Changes: []Change{}, contents: map[string][]byte{}}
	for i := range parts {
		plan.Changes = append(plan.Changes, parts[i].Changes...)
		plan.Left = append(plan.Left, parts[i].Left...)
		plan.Problems = append(plan.Problems, parts[i].Problems...)
		plan.Stages = append(plan.Stages, parts[i].Stages...)
		for f, b := range parts[i].contents {
			plan.contents[f] = b
		}
	}
	pl.link(plan.Stages)
	log.Debug("planned", "dir", dir, "filesParsed", len(scans), "changes", len(plan.Changes), "problems", len(plan.Problems))
	return plan, nil
}

// Write writes the plan's files under dir, each atomically (temporary file and
// rename), keeping file modes.
func (p *Plan) Write(dir string) error {
	for _, f := range p.Files() {
		path := filepath.Join(dir, filepath.FromSlash(f))
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("write %s: %w", f, err)
		}
		if err := atomicfile.Write(path, p.contents[f], st.Mode().Perm()); err != nil {
			return fmt.Errorf("write %s: %w", f, err)
		}
	}
	return nil
}

func availableTags(req Request) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range append(append([]string{}, req.Available...), req.Version) {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

type planner struct {
	req       Request
	available []string // the tags after this publish
	policies  []imagePolicy
	repos     []imageRepository
	ocis      []ociObject
	charts    []chartRef
	recvs     []fluxReceiver
	ociByName map[string][]*ociObject
	// Stages: the tags before and after the publish, parsed once, and each
	// distinct spec.ref resolved once (OCIRef → *resolvedRef).
	beforeTags, afterTags []parsedTag
	parsed                parsedVersions // pl.available, parsed once
	latestCache           sync.Map       // latestKey → latestResult: one choice per distinct rule and current value
	resolved              sync.Map

	// Indexes by name; names with ${var} go to the pattern lists.
	policyByName map[string][]*imagePolicy
	policyVars   []*imagePolicy
	repoByName   map[string][]*imageRepository
	repoVars     []*imageRepository
	compiled     sync.Map // Policy without Source → *compiledPolicy
}

type latestKey struct {
	rule    Policy // without Source
	current string
}

type latestResult struct {
	tag string
	err error
}

// latest is c.latest over the plan's tags, computed once per distinct rule and
// current value: fleets repeat one policy across many references.
func (pl *planner) latest(c *compiledPolicy, current string) (string, error) {
	k := latestKey{rule: c.p, current: current}
	k.rule.Source = ""
	if r, ok := pl.latestCache.Load(k); ok {
		res := r.(latestResult)
		if res.err != nil && !errors.Is(res.err, ErrNoVersion) {
			// errors name the policy's source: recompute for this one
			return c.latest(pl.candidates(current), current, pl.parsed)
		}
		return res.tag, res.err
	}
	tag, err := c.latest(pl.candidates(current), current, pl.parsed)
	pl.latestCache.Store(k, latestResult{tag, err})
	return tag, err
}

// compile compiles a policy once per distinct rule; Source only names it.
func (pl *planner) compile(p Policy) (*compiledPolicy, error) {
	key := p
	key.Source = ""
	if c, ok := pl.compiled.Load(key); ok {
		cc := *c.(*compiledPolicy)
		cc.p = p
		return &cc, nil
	}
	c, err := p.compile()
	if err != nil {
		return nil, err
	}
	pl.compiled.Store(key, c)
	return c, nil
}

func (pl *planner) index() {
	pl.policyByName = map[string][]*imagePolicy{}
	for i := range pl.policies {
		p := &pl.policies[i]
		p.compiled, p.compileErr = pl.compile(p.policy)
		if strings.Contains(p.name, "${") {
			pl.policyVars = append(pl.policyVars, p)
		} else {
			pl.policyByName[p.name] = append(pl.policyByName[p.name], p)
		}
	}
	pl.ociByName = map[string][]*ociObject{}
	for i := range pl.ocis {
		pl.ociByName[pl.ocis[i].name] = append(pl.ociByName[pl.ocis[i].name], &pl.ocis[i])
	}
	pl.repoByName = map[string][]*imageRepository{}
	for i := range pl.repos {
		r := &pl.repos[i]
		if strings.Contains(r.name, "${") {
			pl.repoVars = append(pl.repoVars, r)
		} else {
			pl.repoByName[r.name] = append(pl.repoByName[r.name], r)
		}
	}
}

// candidates returns the indexed entries whose name may match name.
func candidates[T any](byName map[string][]*T, vars []*T, all []T, name string) []*T {
	if strings.Contains(name, "${") {
		out := make([]*T, len(all))
		for i := range all {
			out[i] = &all[i]
		}
		return out
	}
	return append(append([]*T{}, byName[name]...), vars...)
}

func (pl *planner) planFile(s *fileScan, plan *Plan) {
	problems := append([]Problem{}, s.problems...)
	if len(s.charts) > 0 {
		problems = append(problems, pl.checkChartRefs(s)...)
	}
	var changes []Change
	var edits []edit
	done := map[*yaml.Node]bool{}
	for i := range s.refs {
		r := &s.refs[i]
		r.file = s.path
		if done[r.node] {
			continue // two references through one anchor: one edit
		}
		done[r.node] = true
		line := r.node.Line
		if r.block != nil {
			line = r.block.Line + r.node.Line
		}
		var pol *imagePolicy
		if r.marker != nil {
			var err error
			pol, err = pl.lookupPolicy(*r.marker)
			if err != nil {
				problems = append(problems, Problem{File: s.path, Line: r.markerLine, Message: err.Error()})
				continue
			}
		}
		left := func(reason string) {
			plan.Left = append(plan.Left, Left{File: s.path, Line: line, Kind: r.kind, Object: r.object, Field: r.field, Value: r.node.Value, Reason: reason})
		}
		match, ambiguous := pl.relevant(r, pol)
		if ambiguous {
			left(fmt.Sprintf("the chart name %q is a Flux substitution and may or may not be %s: add a $imagepolicy marker to bump it", r.name, pl.req.Chart))
			continue
		}
		if !match {
			continue
		}
		// Commit-less stages: Flux resolves the version in the cluster.
		tagAndDigest := r.oci != nil && r.field == "spec.ref.tag" && r.oci.digest != "" && r.oci.semver == ""
		if r.marker == nil && !tagAndDigest && (r.oci != nil && (r.oci.digest != "" || r.oci.semver != "" || r.field == "spec.ref") || r.kind == KindHelmRelease && r.isRange) {
			st, err := pl.stage(r, line, nil)
			if err != nil {
				errLine := line
				if r.oci != nil && r.oci.filterLine > 0 && strings.Contains(err.Error(), "semverFilter") {
					errLine = r.oci.filterLine
				}
				problems = append(problems, Problem{File: s.path, Line: errLine, Message: err.Error()})
				continue
			}
			plan.Stages = append(plan.Stages, st) // listed there, not in Left
			continue
		}
		c, e, reason, err := pl.decide(s, r, pol, line)
		if tagAndDigest && err == nil && reason == "" {
			// spec.ref.digest wins over the tag: move both, or neither.
			if pl.req.Digest == "" || stripV(ociTag(c.New)) != stripV(ociTag(pl.req.Version)) {
				reason = fmt.Sprintf("would move the tag to %s, but spec.ref.digest pins the OCIRepository and the digest of %s is unknown (chartship writes the digest it pushed: release does, or bump --digest)", c.New, c.New)
			} else if r.oci.digest != pl.req.Digest {
				de, derr := scalarEdit(s.src, s.lines, r.oci.digestNode, pl.req.Digest)
				if derr != nil {
					err = derr
				} else {
					edits = append(edits, de)
					changes = append(changes, Change{File: s.path, Line: r.oci.digestLine, Kind: r.kind, Object: r.object, Field: "spec.ref.digest",
						Old: r.oci.digest, New: pl.req.Digest, Policy: "the digest " + pl.req.Version + " was pushed with (it pins the tag)"})
				}
			}
		}
		switch {
		case err != nil:
			problems = append(problems, Problem{File: s.path, Line: line, Message: err.Error()})
		case reason != "":
			left(reason)
		default:
			changes = append(changes, c)
			edits = append(edits, e)
		}
		if r.oci != nil && err == nil { // an OCIRepository pinned by ref.tag: a stage moved by commits
			var ch *Change
			if reason == "" {
				ch = &c
			}
			if st, err := pl.stage(r, line, ch); err == nil {
				plan.Stages = append(plan.Stages, st)
			}
		}
	}
	if len(problems) > 0 {
		plan.Problems = append(plan.Problems, problems...)
		for _, c := range changes {
			plan.Left = append(plan.Left, Left{File: c.File, Line: c.Line, Kind: c.Kind, Object: c.Object, Field: c.Field, Value: c.Old,
				Reason: fmt.Sprintf("would move to %s, but the file has problems and is left untouched", c.New)})
		}
		return
	}
	if len(edits) == 0 {
		return
	}
	out, err := applyEditsDocs(s.src, s.docs, edits)
	if err != nil {
		plan.Problems = append(plan.Problems, Problem{File: s.path, Message: err.Error()})
		return
	}
	plan.contents[s.path] = out
	plan.Changes = append(plan.Changes, changes...)
}

func (pl *planner) lookupPolicy(m Marker) (*imagePolicy, error) {
	var found []*imagePolicy
	for _, p := range candidates(pl.policyByName, pl.policyVars, pl.policies, m.Name) {
		if nameMatches(p.name, m.Name) && (p.namespace == "" || nameMatches(p.namespace, m.Namespace)) {
			found = append(found, p)
		}
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("marker %q names ImagePolicy %s/%s, which is not in this repository: add it or fix the marker", m.String(), m.Namespace, m.Name)
	case len(found) > 1:
		for _, p := range found[1:] {
			if p.policy.String() != found[0].policy.String() {
				return nil, fmt.Errorf("marker %q matches several ImagePolicies with different rules (%s, %s)", m.String(), found[0].policy.Source, p.policy.Source)
			}
		}
	}
	return found[0], nil
}

func (pl *planner) imageOf(p *imagePolicy) (string, bool) {
	if r := pl.repoOf(p); r != nil {
		return r.image, true
	}
	return "", false
}

func (pl *planner) repoOf(p *imagePolicy) *imageRepository {
	for _, r := range candidates(pl.repoByName, pl.repoVars, pl.repos, p.repoName) {
		if nameMatches(r.name, p.repoName) && (r.namespace == "" || p.repoNS == "" || nameMatches(r.namespace, p.repoNS)) {
			return r
		}
	}
	return nil
}

// relevant says whether a reference is to the requested chart. ambiguous
// means its name is nothing but ${var} substitutions: it may be any chart.
func (pl *planner) relevant(r *ref, pol *imagePolicy) (match, ambiguous bool) {
	chart := pl.req.Chart
	var name string
	objMatch := false
	switch r.kind {
	case KindApp:
		name = r.name
		objMatch = nameMatches(r.name, chart) && (pl.req.Catalog == "" || nameMatches(r.catalog, pl.req.Catalog))
	case KindHelmRelease:
		name = lastElem(r.name)
		objMatch = nameMatches(name, chart) && (pl.req.Source == "" || sourceMatches(r.source, pl.req.Source))
	case KindOCIRepository:
		name = lastElem(r.url)
		objMatch = nameMatches(name, chart) && (pl.req.Registry == "" || underRegistry(r.url, pl.req.Registry))
	}
	ambiguous = objMatch && allVariable(name)
	if pol == nil {
		return objMatch && !ambiguous, ambiguous
	}
	if image, ok := pl.imageOf(pol); ok {
		return nameMatches(lastElem(image), chart) && (pl.req.Registry == "" || underRegistry(image, pl.req.Registry)), false
	}
	return (objMatch && !ambiguous) || (nameMatches(pol.name, chart) && !allVariable(pol.name)), false
}

// allVariable reports whether a name is only ${var} substitutions (and
// punctuation), so that it can stand for anything.
func allVariable(s string) bool {
	if !strings.Contains(s, "${") {
		return false
	}
	for _, c := range substitution.ReplaceAllString(s, "") {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			return false
		}
	}
	return true
}

// sourceMatches compares a HelmRelease sourceRef "Kind/ns/name" (or "Kind/name")
// with a --source filter NAME, KIND/NAME or KIND/NAMESPACE/NAME.
func sourceMatches(source, filter string) bool {
	s := strings.Split(source, "/")
	f := strings.Split(filter, "/")
	if len(f) > len(s) {
		return false
	}
	for i := 1; i <= len(f); i++ {
		if !nameMatches(s[len(s)-i], f[len(f)-i]) && !strings.EqualFold(s[len(s)-i], f[len(f)-i]) {
			return false
		}
	}
	return true
}

func underRegistry(url, registry string) bool {
	strip := func(s string) string {
		if i := strings.Index(s, "://"); i >= 0 {
			s = s[i+3:]
		}
		return strings.TrimRight(s, "/")
	}
	return strings.HasPrefix(strip(url)+"/", strip(registry)+"/")
}

// decide returns the change for one relevant reference, or a reason to leave it.
func (pl *planner) decide(s *fileScan, r *ref, pol *imagePolicy, line int) (Change, edit, string, error) {
	value := r.node.Value
	if r.isRange {
		if _, err := parseConstraint(value); err != nil {
			return Change{}, edit{}, "", fmt.Errorf("%s %s: invalid semver range %q: %v", r.object, r.field, value, err)
		}
		admits := "does not admit"
		if ok, _ := rangeAdmits(value, pl.req.Version); ok {
			admits = "admits"
		}
		return Change{}, edit{}, fmt.Sprintf("a range Flux follows in the cluster (%s %s); run chartship notify to reconcile now", admits, pl.req.Version), nil
	}
	if r.marker != nil && r.marker.Field == "name" {
		// Flux writes the ImagePolicy's latest image name: its ImageRepository's spec.image.
		repo := pl.repoOf(pol)
		switch {
		case repo == nil:
			return Change{}, edit{}, "image name setter: the ImageRepository is not in this repository, so the name Flux writes is unknown", nil
		case repo.image == value:
			return Change{}, edit{}, "up to date", nil
		}
		return pl.change(s, r, line, value, repo.image, pol, Policy{Source: fmt.Sprintf("ImageRepository %s (%s:%d)", qualified(repo.namespace, repo.name), repo.file, repo.line), SemVer: "image"})
	}
	if strings.Contains(value, "${") {
		return Change{}, edit{}, "the value is a Flux substitution: change it where the variable is set", nil
	}
	// A whole image reference (marker without :tag) carries the tag after its
	// last ':' past the last '/'.
	prefix, current := "", value
	wholeImage := r.marker != nil && r.marker.Field == ""
	if wholeImage {
		base := value
		if i := strings.IndexByte(base, '@'); i >= 0 { // name:tag@sha256:…
			base = base[:i]
		}
		if i := strings.LastIndexByte(base, ':'); i > strings.LastIndexByte(base, '/') {
			prefix, current = base[:i+1], base[i+1:]
		} else {
			prefix, current = base+":", ""
		}
	}
	if r.marker != nil && r.marker.Field == "digest" {
		current = "" // the policy picks the tag; the digest follows it
	}
	var policy Policy
	var compiled *compiledPolicy
	if pol != nil {
		if pol.compileErr != nil {
			return Change{}, edit{}, "", pol.compileErr
		}
		policy, compiled = pol.policy, pol.compiled
	} else {
		p, ok, err := DefaultPolicy(pl.req.Policy, current)
		if err != nil {
			return Change{}, edit{}, err.Error(), nil
		}
		if !ok {
			return Change{}, edit{}, "no ImagePolicy and --policy none", nil
		}
		policy = p
		if compiled, err = pl.compile(p); err != nil {
			return Change{}, edit{}, "", err
		}
	}
	if pl.req.Proven != nil && len(pl.candidates(current)) == 1 {
		return Change{}, edit{}, fmt.Sprintf("kept: no available version carries a signed upgrade-test attestation that the upgrade from %s passed (--require-upgrade-test)", current), nil
	}
	tag, err := pl.latest(compiled, current)
	if errors.Is(err, ErrNoVersion) {
		return Change{}, edit{}, fmt.Sprintf("%s (%s) admits none of the available versions", policy.Source, policy.String()), nil
	}
	if err != nil {
		return Change{}, edit{}, "", err
	}
	newTag := withPrefix(tag, current)
	if r.marker != nil && r.marker.Field == "digest" {
		d, why := pl.digestFor(pol, tag)
		switch {
		case why != "":
			return Change{}, edit{}, "image digest setter: " + why, nil
		case d == value:
			return Change{}, edit{}, "up to date", nil
		}
		return pl.change(s, r, line, value, d, pol, policy)
	}
	if wholeImage {
		// Flux writes the ImagePolicy's latest ref: the ImageRepository's
		// image, the tag, and the digest when it reflects digests.
		newValue := prefix + newTag
		if repo := pl.repoOf(pol); repo != nil {
			newValue = repo.image + ":" + tag
		}
		if d, why := pl.digestFor(pol, tag); why == "" {
			newValue += "@" + d
		}
		if newValue == value {
			return Change{}, edit{}, "up to date", nil
		}
		if cv, err := parseFluxVersion(current); err == nil {
			if nv, err := parseFluxVersion(newTag); err == nil && nv.LessThan(cv) {
				return Change{}, edit{}, fmt.Sprintf("kept: %s selects %s among the available versions, lower than the current one; list every released version (--available or --registry)", policy.Source, newTag), nil
			}
		}
		return pl.change(s, r, line, value, newValue, pol, policy)
	}
	if newTag == current {
		return Change{}, edit{}, "up to date", nil
	}
	if cv, err := parseFluxVersion(current); err == nil {
		if nv, err := parseFluxVersion(newTag); err == nil && nv.LessThan(cv) {
			return Change{}, edit{}, fmt.Sprintf("kept: %s selects %s among the available versions, lower than the current one; list every released version (--available or --registry)", policy.Source, newTag), nil
		}
	}
	return pl.change(s, r, line, value, prefix+newTag, pol, policy)
}

// digestFor is the digest Flux would write for tag under the ImagePolicy
// pol, or why there is none: Flux reflects digests only with a
// digestReflectionPolicy, and chartship knows only the digest it pushed.
func (pl *planner) digestFor(pol *imagePolicy, tag string) (string, string) {
	switch {
	case pol == nil || pol.digestReflection == "" || pol.digestReflection == "Never":
		return "", "the ImagePolicy reflects no digests (spec.digestReflectionPolicy Never)"
	case pl.req.Digest == "":
		return "", "the digest of " + tag + " is unknown (chartship writes the digest it pushed)"
	case stripV(ociTag(tag)) != stripV(ociTag(pl.req.Version)):
		return "", fmt.Sprintf("the policy selects %s, whose digest is unknown (chartship knows only that of %s, which it pushed)", tag, pl.req.Version)
	}
	return pl.req.Digest, ""
}

// change builds the change of one reference from value to newValue.
func (pl *planner) change(s *fileScan, r *ref, line int, value, newValue string, pol *imagePolicy, policy Policy) (Change, edit, string, error) {
	e, err := pl.edit(s, r, newValue)
	if err != nil {
		return Change{}, edit{}, "", fmt.Errorf("%s: %v", r.field, err)
	}
	c := Change{File: s.path, Line: line, Kind: r.kind, Object: r.object, Field: r.field, Old: value, New: newValue,
		Policy: fmt.Sprintf("%s: %s", policy.Source, policy.String())}
	if r.marker != nil {
		c.Marker = r.marker.String()
	}
	if pol != nil {
		if repo := pl.repoOf(pol); repo != nil {
			c.Image = fmt.Sprintf("ImageRepository %s (%s:%d): %s", qualified(repo.namespace, repo.name), repo.file, repo.line, repo.image)
		}
	}
	return c, e, "", nil
}

func (pl *planner) edit(s *fileScan, r *ref, value string) (edit, error) {
	if r.block == nil {
		return scalarEdit(s.src, s.lines, r.node, value)
	}
	// Map the scalar's position in the block's text to the file: content line
	// L is file line block.Line+L, shifted right by the block's indentation.
	n := *r.node
	n.Line = r.block.Line + r.blockLine
	n.Column = r.blockColumn + r.blockIndent
	e, err := scalarEdit(s.src, s.lines, &n, value)
	if err != nil {
		return e, err
	}
	e.line, e.column = r.blockLine, r.blockColumn
	e.blockLine, e.blockColumn = r.block.Line, r.block.Column
	return e, nil
}

// candidates are the versions a reference at current may move to: every
// available one, or with Request.Proven current and those proven to upgrade
// from it.
func (pl *planner) candidates(current string) []string {
	if pl.req.Proven == nil {
		return pl.available
	}
	from := strings.TrimPrefix(current, "v")
	out := []string{current}
	for _, t := range pl.available {
		if slices.Contains(pl.req.Proven[strings.TrimPrefix(t, "v")], from) {
			out = append(out, t)
		}
	}
	return out
}
