package release

import (
	"context"
	"fmt"

	"github.com/chartship/chartship/sign"
	"github.com/chartship/chartship/upgradetest"
)

// UpgradeTestPredicate is the signed attestation's document for an upgrade
// test's report (sign.UpgradeTestPredicateType): what was tested, every
// from-version and scenario with its result, the Kubernetes version, the
// durations and the chartship that ran it.
func UpgradeTestPredicate(rep *upgradetest.Report, chartshipVersion string) sign.UpgradeTestPredicate {
	p := sign.UpgradeTestPredicate{
		Chart: rep.Chart, Version: rep.To, From: rep.From, FirstRelease: rep.FirstRelease,
		Passed: rep.Passed, KubernetesVersion: rep.KubernetesVersion, Seconds: rep.Seconds,
		ChartshipVersion: chartshipVersion,
	}
	if p.From == nil {
		p.From = []string{}
	}
	for _, s := range rep.Scenarios {
		p.Scenarios = append(p.Scenarios, sign.UpgradeTestScenario{
			Name: s.Name, Values: s.Values, Kind: s.Kind, From: s.From, To: s.To, Passed: s.Passed, Seconds: s.Seconds,
		})
	}
	return p
}

// Attest signs rep as an attestation of the chart version it tested, already
// pushed to st (`chartship upgrade-test --attest`), beside the chart's
// signature (added when missing).
func Attest(ctx context.Context, st sign.Store, rep *upgradetest.Report, opts sign.Options, chartshipVersion string) ([]sign.Signature, error) {
	s, err := sign.New(opts)
	if err != nil {
		return nil, err
	}
	p, err := UpgradeTestPredicate(rep, chartshipVersion).Predicate()
	if err != nil {
		return nil, err
	}
	sigs, err := s.Sign(ctx, st, rep.Chart, rep.To, p)
	if err != nil {
		return sigs, fmt.Errorf("attesting the upgrade test of %s %s in %s: %w", rep.Chart, rep.To, st, err)
	}
	return sigs, nil
}
