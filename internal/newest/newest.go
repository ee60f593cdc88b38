// Package newest is chartship's one rule for "the newest release" among a
// chart's versions: the highest semver version without a pre-release part,
// optionally below a given version (the upgrade test's default from-version,
// `stable`, is the newest release below the version under test).
//
// Versions are parsed as upgradetest.ResolveFrom parses released versions
// (semver.NewVersion: a leading v and a missing minor or patch are accepted);
// versions that don't parse are ignored. The result is the version as given.
package newest

import "github.com/Masterminds/semver/v3"

// Release is the newest release (no pre-release part) among versions, "" when
// there is none.
func Release(versions []string) string {
	return highest(versions, nil)
}

// Before is the newest release among versions below version, "" when there is
// none or version is not semver.
func Before(versions []string, version string) string {
	below, err := semver.NewVersion(version)
	if err != nil {
		return ""
	}
	return highest(versions, below)
}

// highest is the highest release in versions, below below when it is set.
func highest(versions []string, below *semver.Version) string {
	var best *semver.Version
	for _, s := range versions {
		v, err := semver.NewVersion(s)
		if err != nil || v.Prerelease() != "" || (below != nil && !v.LessThan(below)) {
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
