// Package compat is chartship's one rule for a "breaking" version change, used
// by the upgrade test (a major upgrade) and by bump's same-major policy alike.
//
// The semver convention: a change of the major version breaks; while the major
// is 0 (initial development, 0.y.z) the minor is the compatibility line, so a
// change of y breaks: 0.1.0 → 0.2.0 is breaking, 0.1.0 → 0.1.5 is not, and
// 0.0.9 → 0.1.0 is. Pre-release and build parts don't matter.
package compat

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
)

// Breaking reports whether going from → to crosses a compatibility line.
func Breaking(from, to *semver.Version) bool {
	return Line(from) != Line(to)
}

// Line names v's compatibility line: "1" for 1.4.2, "0.3" for 0.3.1.
func Line(v *semver.Version) string {
	if v.Major() == 0 {
		return fmt.Sprintf("0.%d", v.Minor())
	}
	return fmt.Sprint(v.Major())
}

// NextBreaking is the lowest release that breaks v: 2.0.0 for 1.4.2, 0.4.0 for 0.3.1.
func NextBreaking(v *semver.Version) *semver.Version {
	if v.Major() == 0 {
		return semver.New(0, v.Minor()+1, 0, "", "")
	}
	return semver.New(v.Major()+1, 0, 0, "", "")
}
