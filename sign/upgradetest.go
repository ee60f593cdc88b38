package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
)

// UpgradeTestPredicateType is the in-toto predicate type of chartship's
// upgrade-test attestation; its document is UpgradeTestPredicate. The last
// path element is the schema's version: fields are only ever added within v1.
const UpgradeTestPredicateType = "https://chartship.dev/attestations/upgrade-test/v1"

// UpgradeTestPredicate is what an upgrade test proved about a chart version:
// installed at each from-version, upgraded to Version, healthy after, per
// values scenario.
type UpgradeTestPredicate struct {
	Chart   string `json:"chart"`
	Version string `json:"version"`
	// From are the versions upgraded from; empty with FirstRelease (install
	// test only).
	From              []string              `json:"from"`
	FirstRelease      bool                  `json:"firstRelease,omitempty"`
	Passed            bool                  `json:"passed"`
	KubernetesVersion string                `json:"kubernetesVersion"`
	Scenarios         []UpgradeTestScenario `json:"scenarios"`
	Seconds           float64               `json:"seconds"`
	// ChartshipVersion is the chartship that ran the test.
	ChartshipVersion string `json:"chartshipVersion"`
}

// UpgradeTestScenario is one values file upgraded from one version (or
// installed, for a first release).
type UpgradeTestScenario struct {
	Name    string  `json:"name"`
	Values  string  `json:"values,omitempty"`
	Kind    string  `json:"kind"` // "upgrade" or "install"
	From    string  `json:"from,omitempty"`
	To      string  `json:"to"`
	Passed  bool    `json:"passed"`
	Seconds float64 `json:"seconds"`
}

// Predicate encodes p for Signer.Sign.
func (p UpgradeTestPredicate) Predicate() (Predicate, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return Predicate{}, err
	}
	return Predicate{Type: UpgradeTestPredicateType, Data: b}, nil
}

// provesFrom says whether p proves the upgrade from version from passed.
func (p UpgradeTestPredicate) provesFrom(from string) (bool, string) {
	if !slices.Contains(p.From, from) {
		return false, ""
	}
	for _, s := range p.Scenarios {
		if s.From == from && !s.Passed {
			return false, fmt.Sprintf("the upgrade from %s failed (scenario %s)", from, s.Name)
		}
	}
	if !p.Passed {
		return false, fmt.Sprintf("the upgrade test from %s failed", strings.Join(p.From, ", "))
	}
	return true, ""
}

// RequireUpgradeTest checks that a verified upgrade-test attestation of
// version says the upgrade from from passed, and records it in
// r.UpgradeTest. The error (a check error) says what the attestations say
// instead.
func (r *Verification) RequireUpgradeTest(version, from string) error {
	var covered []string
	var failed []string
	for _, s := range r.Statements {
		if s.PredicateType != UpgradeTestPredicateType {
			continue
		}
		var p UpgradeTestPredicate
		if err := json.Unmarshal(s.Predicate, &p); err != nil {
			failed = append(failed, fmt.Sprintf("%s: not an upgrade-test predicate: %v", s.Ref, err))
			continue
		}
		if p.Version != version {
			continue
		}
		ok, why := p.provesFrom(from)
		if ok {
			r.UpgradeTest = &p
			return nil
		}
		if why != "" {
			failed = append(failed, why)
		}
		covered = append(covered, p.From...)
	}
	switch {
	case len(failed) > 0:
		return errdef.Check(fmt.Errorf("%s: the signed upgrade-test attestation says %s", r.Ref, strings.Join(failed, "; ")))
	case len(covered) > 0:
		return errdef.Check(fmt.Errorf("%s: the signed upgrade-test attestations cover upgrades from %s, not from %s", r.Ref, strings.Join(covered, ", "), from))
	}
	return errdef.Check(fmt.Errorf("%s: no upgrade-test attestation (%s) signed by %s", r.Ref, UpgradeTestPredicateType, r.who))
}

// VerifyUpgrade verifies name:version's signature and that a signed
// upgrade-test attestation says the upgrade from from (or, when from is "",
// from the previous release in st) passed.
func (v *Verifier) VerifyUpgrade(ctx context.Context, st Store, name, version, from string) (*Verification, error) {
	res, err := v.Verify(ctx, st, name, version)
	if err != nil {
		return res, err
	}
	if from == "" {
		versions, err := st.Versions(ctx, name)
		if err != nil {
			return res, err
		}
		if from = chart.NewestRelease(versions, version); from == "" {
			return res, errdef.Check(fmt.Errorf("%s: no release before %s in %s to require an upgrade test from; give --from VERSION", res.Ref, version, st))
		}
	}
	return res, res.RequireUpgradeTest(version, from)
}

// ProvenUpgrades reads, for each of versions, the verified upgrade-test
// attestations and returns version → the from-versions they prove passed
// (gitops.Request.Proven). Versions without a verified attestation are left
// out; a registry failure is an error.
func (v *Verifier) ProvenUpgrades(ctx context.Context, st Store, chart string, versions []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, ver := range versions {
		subject, err := st.Subject(ctx, chart, ver)
		if err != nil {
			if errors.Is(err, catalog.ErrNotFound) {
				continue
			}
			return nil, err
		}
		refs, err := st.Referrers(ctx, chart, subject, BundleMediaType)
		if err != nil {
			return nil, err
		}
		f, err := v.check(ctx, st, chart, subject, ofType(refs, UpgradeTestPredicateType))
		if err != nil {
			return nil, err
		}
		for _, s := range f.statements {
			var p UpgradeTestPredicate
			if s.PredicateType != UpgradeTestPredicateType || json.Unmarshal(s.Predicate, &p) != nil || p.Version != ver {
				continue
			}
			for _, from := range p.From {
				if ok, _ := p.provesFrom(from); ok && !slices.Contains(out[ver], from) {
					out[ver] = append(out[ver], from)
				}
			}
		}
	}
	return out, nil
}
