package upgradetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartship/chartship/internal/errdef"
)

// FromFleet is the --from spec that upgrades from every version the fleet
// runs (Options.Fleet).
const FromFleet = "fleet"

// FleetRun is one version the fleet runs and the clusters running it.
type FleetRun struct {
	Version  string
	Clusters []string
}

// FleetSource lists the versions of chart the fleet runs, given the version
// under test and the released versions (gitops.FleetVersions behind the CLI).
type FleetSource func(ctx context.Context, chart, to string, released []string) ([]FleetRun, error)

// FleetProof says whose upgrades a run proved: a cluster is proven when every
// scenario upgrading from the version it runs passed.
type FleetProof struct {
	Proven    []string `json:"proven"`
	NotProven []string `json:"notProven,omitempty"` // a scenario from its version failed
	// Untested are clusters whose version can't be upgraded from here: not
	// below the version under test, or not in the catalog.
	Untested []string `json:"untested,omitempty"`
}

// fleetFrom resolves --from fleet: the distinct fleet versions below to that
// the catalog holds, oldest first, and the clusters of each.
func fleetFrom(ctx context.Context, opts *Options, chart, to string, released []string) ([]string, map[string][]string, []string, error) {
	if opts.Fleet == nil {
		return nil, nil, nil, errdef.Usage(errors.New("--from fleet needs the fleet: give --fleet-repo URL|PATH (or fleetRepos in .chartship.yaml)"))
	}
	runs, err := opts.Fleet(ctx, chart, to, released)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the fleet's versions of %s: %w", chart, err)
	}
	toV, err := semver.NewVersion(to)
	if err != nil {
		return nil, nil, nil, errdef.Usage(fmt.Errorf("version under test %q is not semver: %w", to, err))
	}
	inCatalog := map[string]string{}
	for _, r := range released {
		if v, err := semver.NewVersion(r); err == nil {
			inCatalog[v.String()] = r
		}
	}
	clusters := map[string][]string{}
	var versions, untested []string
	for _, run := range runs {
		v, err := semver.NewVersion(run.Version)
		var orig string
		var ok bool
		if err == nil {
			orig, ok = inCatalog[v.String()]
		}
		if err != nil || !ok || !v.LessThan(toV) {
			for _, c := range run.Clusters {
				why := "not below " + to
				if err == nil && !ok {
					why = "not in the catalog"
				}
				untested = append(untested, fmt.Sprintf("%s (runs %s: %s)", c, run.Version, why))
			}
			continue
		}
		if _, dup := clusters[orig]; !dup {
			versions = append(versions, orig)
		}
		clusters[orig] = append(clusters[orig], run.Clusters...)
	}
	slices.SortFunc(versions, func(a, b string) int { return semver.MustParse(a).Compare(semver.MustParse(b)) })
	return versions, clusters, untested, nil
}

// proveFleet fills in the scenarios' clusters and the report's FleetProof.
func (r *Report) proveFleet(clusters map[string][]string, untested []string) {
	failed := map[string]bool{}
	seen := map[string]bool{}
	var all []string
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		s.Clusters = clusters[s.From]
		for _, c := range s.Clusters {
			if !seen[c] {
				seen[c] = true
				all = append(all, c)
			}
			if !s.Passed {
				failed[c] = true
			}
		}
	}
	p := &FleetProof{Proven: []string{}, Untested: untested}
	for _, c := range all {
		if failed[c] {
			p.NotProven = append(p.NotProven, c)
		} else {
			p.Proven = append(p.Proven, c)
		}
	}
	slices.Sort(p.Proven)
	slices.Sort(p.NotProven)
	r.Fleet = p
}

func (p *FleetProof) text(w io.Writer) {
	fmt.Fprintf(w, "fleet: %d cluster(s) proven", len(p.Proven))
	if len(p.Proven) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(p.Proven, ", "))
	}
	fmt.Fprintln(w)
	if len(p.NotProven) > 0 {
		fmt.Fprintf(w, "fleet: NOT proven (an upgrade from their version failed): %s\n", strings.Join(p.NotProven, ", "))
	}
	for _, u := range p.Untested {
		fmt.Fprintf(w, "fleet: untested %s\n", u)
	}
}
