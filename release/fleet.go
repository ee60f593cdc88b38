package release

import (
	"context"

	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/upgradetest"
)

// FleetSource reads the versions the fleet repositories run (see
// gitops.FleetVersions) for an upgrade test with --from fleet. Bad input in a
// fleet repository is an error: a from-version list with holes would prove
// less than it claims.
func FleetSource(repos []string, opts gitops.BumpOptions) upgradetest.FleetSource {
	return func(ctx context.Context, chart, to string, released []string) ([]upgradetest.FleetRun, error) {
		fv, _, err := gitops.FleetVersions(ctx, repos, gitops.Request{Chart: chart, Version: to, Available: released}, opts)
		if err != nil {
			return nil, err
		}
		out := make([]upgradetest.FleetRun, len(fv))
		for i, v := range fv {
			out[i] = upgradetest.FleetRun{Version: v.Version, Clusters: v.Clusters}
		}
		return out, nil
	}
}
