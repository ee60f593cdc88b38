package upgradetest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartship/chartship/internal/compat"
)

// VersionLister lists the released versions of a chart in a catalog (OCI tags, a helm repo
// index, a git catalog). catalog.Catalog satisfies it.
type VersionLister interface {
	Versions(ctx context.Context, chart string) ([]string, error)
}

// ChartFetcher downloads one released version of a chart into dir and returns the
// archive's path. catalog.Catalog satisfies it.
type ChartFetcher interface {
	Fetch(ctx context.Context, chart, version, dir string) (string, error)
}

// Catalog is what upgrade tests need from where released charts live.
type Catalog interface {
	VersionLister
	ChartFetcher
}

// ResolveFrom picks the from-versions to upgrade from, for a chart at version to, given the
// released versions and a spec: a comma-separated list of
//
//	stable            the highest release (no pre-release) below to — the default
//	X.Y.Z             exactly that released version
//	N-k               the highest release of the k-th minor line below to's (N-1: previous minor)
//	oldest-supported  the lowest release in the compatibility line of `stable` (its
//	                  major; for 0.y.z its minor: internal/compat)
//
// Versions that are not valid semver are ignored. An empty result with a nil error means no
// release exists yet: the first release, install test only. Duplicates are removed; the
// result is sorted from oldest to newest.
func ResolveFrom(spec, to string, released []string) ([]string, error) {
	toV, err := semver.StrictNewVersion(strings.TrimPrefix(to, "v"))
	if err != nil {
		return nil, fmt.Errorf("version under test %q is not semver: %w", to, err)
	}
	var below []*semver.Version // releases (no pre-release) below to, ascending
	byOriginal := map[string]*semver.Version{}
	for _, s := range released {
		v, err := semver.NewVersion(s)
		if err != nil {
			continue
		}
		byOriginal[v.String()] = v
		if v.Prerelease() == "" && v.LessThan(toV) {
			below = append(below, v)
		}
	}
	slices.SortFunc(below, func(a, b *semver.Version) int { return a.Compare(b) })
	below = slices.CompactFunc(below, func(a, b *semver.Version) bool { return a.Equal(b) })

	if strings.TrimSpace(spec) == "" {
		spec = "stable"
	}
	var picked []*semver.Version
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "stable":
			if len(below) > 0 {
				picked = append(picked, below[len(below)-1])
			}
		case item == "oldest-supported":
			if len(below) > 0 {
				line := compat.Line(below[len(below)-1])
				for _, v := range below {
					if compat.Line(v) == line {
						picked = append(picked, v)
						break
					}
				}
			}
		case strings.HasPrefix(item, "N-"):
			k, err := strconv.Atoi(strings.TrimPrefix(item, "N-"))
			if err != nil || k < 1 {
				return nil, fmt.Errorf("--from item %q: want N-1, N-2, …", item)
			}
			if v := previousMinor(below, toV, k); v != nil {
				picked = append(picked, v)
			}
		default:
			want, err := semver.StrictNewVersion(strings.TrimPrefix(item, "v"))
			if err != nil {
				return nil, fmt.Errorf("--from item %q: want stable, N-k, oldest-supported or a version X.Y.Z", item)
			}
			v, ok := byOriginal[want.String()]
			if !ok {
				return nil, fmt.Errorf("--from %s: the catalog has no version %s (it has %d versions); pick a released one or use --from-file", item, want, len(byOriginal))
			}
			if !v.LessThan(toV) {
				return nil, fmt.Errorf("--from %s is not below the version under test %s", v, toV)
			}
			picked = append(picked, v)
		}
	}
	slices.SortFunc(picked, func(a, b *semver.Version) int { return a.Compare(b) })
	picked = slices.CompactFunc(picked, func(a, b *semver.Version) bool { return a.Equal(b) })
	out := make([]string, len(picked))
	for i, v := range picked {
		out[i] = v.Original()
	}
	return out, nil
}

// previousMinor returns the highest release of the k-th distinct major.minor line below to's.
func previousMinor(below []*semver.Version, to *semver.Version, k int) *semver.Version {
	type line struct{ major, minor uint64 }
	seen := 0
	var cur *line
	for i := len(below) - 1; i >= 0; i-- {
		v := below[i]
		l := line{v.Major(), v.Minor()}
		if l.major == to.Major() && l.minor == to.Minor() {
			continue // same line as the version under test
		}
		if cur == nil || *cur != l {
			cur = &l
			seen++
			if seen == k {
				return v
			}
		}
	}
	return nil
}

// IsMajorUpgrade reports whether going from → to is breaking by chartship's one rule
// (internal/compat): the major changes, or for 0.y.z the minor.
func IsMajorUpgrade(from, to string) bool {
	f, err1 := semver.NewVersion(from)
	t, err2 := semver.NewVersion(to)
	if err1 != nil || err2 != nil {
		return false
	}
	return compat.Breaking(f, t)
}
