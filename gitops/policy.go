package gitops

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartship/chartship/internal/compat"
)

// Policy decides which available version a reference may move to, with the
// semantics of Flux's image-reflector-controller ImagePolicy.
type Policy struct {
	// Source says where the policy comes from, for people: "ImagePolicy
	// default/hello (clusters/a/policy.yaml:12)" or "--policy same-major".
	Source string `json:"source"`
	// Exactly one of SemVer, Alphabetical and Numerical is set.
	SemVer       string `json:"semver,omitempty"`       // Masterminds/semver/v3 range
	Alphabetical string `json:"alphabetical,omitempty"` // order: asc or desc
	Numerical    string `json:"numerical,omitempty"`    // order: asc or desc
	// FilterPattern and FilterExtract are spec.filterTags: tags not matching the
	// pattern are ignored; with extract, the policy orders the extracted values
	// and the original tag is the result.
	FilterPattern string `json:"filterPattern,omitempty"`
	FilterExtract string `json:"filterExtract,omitempty"`
}

// ErrNoVersion means no available tag satisfies the policy.
var ErrNoVersion = errors.New("no available version is allowed by the policy")

// String describes the rule, e.g. "semver >=1.0.0 <2.0.0".
func (p Policy) String() string {
	var s string
	switch {
	case p.SemVer != "":
		s = "semver " + p.SemVer
	case p.Alphabetical != "":
		s = "alphabetical " + p.Alphabetical
	case p.Numerical != "":
		s = "numerical " + p.Numerical
	default:
		s = "none"
	}
	if p.FilterPattern != "" {
		s += fmt.Sprintf(" (filter %q", p.FilterPattern)
		if p.FilterExtract != "" {
			s += fmt.Sprintf(" extract %q", p.FilterExtract)
		}
		s += ")"
	}
	return s
}

// Validate checks the range and the filter pattern without choosing a version.
func (p Policy) Validate() error {
	_, err := p.compile()
	return err
}

type compiledPolicy struct {
	p          Policy
	constraint *semver.Constraints
	filter     *regexp.Regexp
}

func (p Policy) compile() (*compiledPolicy, error) {
	c := &compiledPolicy{p: p}
	n := 0
	for _, s := range []string{p.SemVer, p.Alphabetical, p.Numerical} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("policy %s: set exactly one of semver.range, alphabetical or numerical", p.Source)
	}
	if p.SemVer != "" {
		cs, err := semver.NewConstraint(p.SemVer)
		if err != nil {
			return nil, fmt.Errorf("policy %s: invalid semver range %q: %w", p.Source, p.SemVer, err)
		}
		c.constraint = cs
	}
	for _, order := range []string{p.Alphabetical, p.Numerical} {
		if order != "" && order != "asc" && order != "desc" {
			return nil, fmt.Errorf("policy %s: order %q: use asc or desc", p.Source, order)
		}
	}
	if p.FilterPattern != "" {
		re, err := regexp.Compile(p.FilterPattern)
		if err != nil {
			return nil, fmt.Errorf("policy %s: invalid filterTags.pattern %q: %w", p.Source, p.FilterPattern, err)
		}
		c.filter = re
	}
	return c, nil
}

// Latest returns the tag the policy selects among tags, exactly as Flux does:
// tags are filtered (and extracted) by filterTags, then the highest one the rule
// admits wins. For semver, tags must be strict semantic versions with an
// optional leading "v"; pre-releases count only when the range admits them;
// build metadata does not order versions. Among equal versions, prefer wins
// when it is one of them, else the first in tags order.
func (p Policy) Latest(tags []string, prefer string) (string, error) {
	c, err := p.compile()
	if err != nil {
		return "", err
	}
	return c.latest(tags, prefer, nil)
}

// parsedVersions are tags parsed once (parseFluxVersion; nil: not a version)
// for the many references of one plan.
type parsedVersions map[string]*semver.Version

func (pv parsedVersions) parse(s string) (*semver.Version, error) {
	if v, ok := pv[s]; ok {
		if v == nil {
			return nil, errors.New("not a semantic version")
		}
		return v, nil
	}
	return parseFluxVersion(s)
}

func newParsedVersions(tags []string) parsedVersions {
	pv := parsedVersions{}
	for _, t := range tags {
		v, _ := parseFluxVersion(t)
		pv[t] = v
	}
	return pv
}

func (c *compiledPolicy) latest(tags []string, prefer string, parsed parsedVersions) (string, error) {
	// candidates: ordering value → original tag, in tags order.
	type cand struct{ key, tag string }
	var cands []cand
	if c.filter == nil {
		for _, t := range tags {
			cands = append(cands, cand{t, t})
		}
	} else {
		index := map[string]int{}
		for _, t := range tags {
			m := c.filter.FindStringSubmatchIndex(t)
			if m == nil {
				continue
			}
			key := t
			if c.p.FilterExtract != "" {
				key = string(c.filter.ExpandString(nil, c.p.FilterExtract, t, m))
			}
			// Flux keeps one original tag per extracted value: the last seen.
			if i, seen := index[key]; seen {
				cands[i].tag = t
				continue
			}
			index[key] = len(cands)
			cands = append(cands, cand{key, t})
		}
	}
	best := -1
	switch {
	case c.constraint != nil:
		var bestV *semver.Version
		for i, cd := range cands {
			v, err := parsed.parse(cd.key)
			if err != nil || !c.constraint.Check(v) {
				continue
			}
			if bestV == nil || v.GreaterThan(bestV) || (v.Equal(bestV) && cd.tag == prefer) {
				bestV, best = v, i
			}
		}
	case c.p.Alphabetical != "":
		for i, cd := range cands {
			if best < 0 || better(strings.Compare(cd.key, cands[best].key), c.p.Alphabetical) || (cd.key == cands[best].key && cd.tag == prefer) {
				best = i
			}
		}
	case c.p.Numerical != "":
		var bestF float64
		for i, cd := range cands {
			f, err := strconv.ParseFloat(cd.key, 64)
			if err != nil {
				return "", fmt.Errorf("policy %s: tag %q is not a number", c.p.Source, cd.key)
			}
			cmp := 0
			if best >= 0 {
				switch {
				case f > bestF:
					cmp = 1
				case f < bestF:
					cmp = -1
				}
			}
			if best < 0 || better(cmp, c.p.Numerical) || (cmp == 0 && cd.tag == prefer) {
				best, bestF = i, f
			}
		}
	}
	if best < 0 {
		return "", fmt.Errorf("%w (%s; %d tags considered)", ErrNoVersion, c.p.String(), len(tags))
	}
	return cands[best].tag, nil
}

func better(cmp int, order string) bool {
	if order == "desc" {
		return cmp < 0
	}
	return cmp > 0
}

// parseFluxVersion accepts what Flux accepts: a strict semantic version,
// optionally with a leading "v".
func parseFluxVersion(s string) (*semver.Version, error) {
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v")); err != nil {
		return nil, err
	}
	return semver.NewVersion(s)
}

// Default policies for references that have no ImagePolicy (--policy).
const (
	PolicySameMajor = "same-major" // >= current, < the next breaking release (next major; for 0.y.z the next minor) (the default)
	PolicySameMinor = "same-minor" // >= current, < next minor
	PolicyLatest    = "latest"     // >= current, any higher stable version
	PolicyNone      = "none"       // leave the reference alone and list it
)

// DefaultPolicy builds the policy --policy names for a reference whose current
// value is current. rule is one of the Policy* names or a semver range. It
// returns ok=false for PolicyNone.
func DefaultPolicy(rule, current string) (p Policy, ok bool, err error) {
	if rule == "" {
		rule = PolicySameMajor
	}
	src := "--policy " + rule
	switch rule {
	case PolicyNone:
		return Policy{}, false, nil
	case PolicySameMajor, PolicySameMinor, PolicyLatest:
		v, err := parseFluxVersion(current)
		if err != nil {
			return Policy{}, false, fmt.Errorf("current value %q is not a semantic version, so %s cannot apply", current, src)
		}
		floor := strings.TrimPrefix(current, "v")
		switch rule {
		case PolicySameMajor: // up to the next breaking release: for 0.y.z that is 0.(y+1).0
			return Policy{Source: src, SemVer: fmt.Sprintf(">=%s <%s", floor, compat.NextBreaking(v))}, true, nil
		case PolicySameMinor:
			return Policy{Source: src, SemVer: fmt.Sprintf(">=%s <%d.%d.0", floor, v.Major(), v.Minor()+1)}, true, nil
		default:
			return Policy{Source: src, SemVer: ">=" + floor}, true, nil
		}
	default:
		p := Policy{Source: src, SemVer: rule}
		if err := p.Validate(); err != nil {
			return Policy{}, false, err
		}
		return p, true, nil
	}
}

// ValidPolicyRule checks a --policy value.
func ValidPolicyRule(rule string) error {
	switch rule {
	case "", PolicySameMajor, PolicySameMinor, PolicyLatest, PolicyNone:
		return nil
	}
	if _, err := semver.NewConstraint(rule); err != nil {
		return fmt.Errorf("--policy %q: use same-major, same-minor, latest, none or a semver range: %w", rule, err)
	}
	return nil
}

// withPrefix writes tag the way the file spells versions: with a leading "v"
// when current has one, without when it hasn't.
func withPrefix(tag, current string) string {
	curV := strings.HasPrefix(current, "v")
	tagV := strings.HasPrefix(tag, "v")
	if _, err := parseFluxVersion(tag); err != nil {
		return tag
	}
	switch {
	case curV && !tagV:
		return "v" + tag
	case !curV && tagV && current != "":
		return strings.TrimPrefix(tag, "v")
	}
	return tag
}

func parseConstraint(r string) (*semver.Constraints, error) { return semver.NewConstraint(r) }

func rangeAdmits(r, version string) (bool, error) {
	c, err := semver.NewConstraint(r)
	if err != nil {
		return false, err
	}
	v, err := parseFluxVersion(version)
	if err != nil {
		return false, err
	}
	return c.Check(v), nil
}
