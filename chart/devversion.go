package chart

import (
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/chartship/chartship/internal/errdef"
)

// DevSchema names how dev builds (commits that are not on a release tag) are
// versioned.
type DevSchema string

const (
	// DevSchemaRFC is Giant Swarm's current schema (RFC "semver-based automatic
	// upgrades", decision of 2026-09-10): X.Y.(Z+1)-r<crc>t<YYYYMMDDHHMMSS>h<sha7>,
	// one alphanumeric pre-release identifier of 33 characters. The default.
	DevSchemaRFC DevSchema = "rfc"
	// DevSchemaLegacy is the superseded X.Y.(Z+1)-dev.<branch>.<YYYYMMDDHHMMSS>.h<sha7>
	// for teams still on it.
	DevSchemaLegacy DevSchema = "legacy"
)

// ParseDevSchema reads a --dev-schema or .chartship.yaml devSchema value; ""
// is the default (rfc).
func ParseDevSchema(s string) (DevSchema, error) {
	switch DevSchema(s) {
	case "", DevSchemaRFC:
		return DevSchemaRFC, nil
	case DevSchemaLegacy:
		return DevSchemaLegacy, nil
	}
	return "", errdef.Usage(fmt.Errorf("dev version schema %q: use %q (X.Y.Z-r<crc32>t<time>h<sha>, the default) or %q (X.Y.Z-dev.<branch>.<time>.h<sha>)", s, DevSchemaRFC, DevSchemaLegacy))
}

// NoBuildPrefix starts the names of branches that build nothing: their commits
// are skipped (a tag on them is still released).
const NoBuildPrefix = "nobuild/"

// ErrNoBuild means the commit is on a nobuild/… branch and on no release tag:
// there is nothing to build, and that is a success (callers report it as
// skipped and exit 0).
var ErrNoBuild = errors.New("nobuild/ branch: nothing to build")

// BranchChecksum is the RFC's branch fingerprint: CRC-32/ISO-HDLC (Go's
// crc32.ChecksumIEEE) of the full, unsanitised branch name, 8 lowercase hex
// digits. "my-feature" → "7b5b4fa7".
func BranchChecksum(branch string) string {
	return fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(branch)))
}

// DevFilter is the OCIRepository spec.ref.semverFilter that selects the RFC
// dev builds of one branch and never an -rc.N tag (every field's width is
// pinned).
func DevFilter(branch string) string {
	return "^.*-r" + BranchChecksum(branch) + "t[0-9]{14}h[0-9a-f]{7}$"
}

// AnyDevFilter selects every RFC dev build.
const AnyDevFilter = "^.*-r[0-9a-f]{8}t[0-9]{14}h[0-9a-f]{7}$"

// RFCDevVersion is the dev pre-release after base in the RFC schema:
// X.Y.(Z+1)-r<BranchChecksum(branch)>t<YYYYMMDDHHMMSS>h<sha7>, the time the
// commit's committer date in UTC. The pre-release part is always 33
// characters, holds no '.' and no '-', and sorts by time within one branch.
func RFCDevVersion(base *semver.Version, branch string, commitTime time.Time, sha string) string {
	next := semver.New(base.Major(), base.Minor(), base.Patch()+1, "", "")
	return next.String() + "-r" + BranchChecksum(branch) + "t" + commitTime.UTC().Format("20060102150405") + "h" + shortHash(sha)
}

// shortHash is 7 lowercase hex digits of a commit hash (zero-padded when the
// hash is shorter, which git never gives).
func shortHash(sha string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(sha) {
		if b.Len() == 7 {
			break
		}
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'f' {
			b.WriteRune(r)
		}
	}
	for b.Len() < 7 {
		b.WriteByte('0')
	}
	return b.String()
}

func devVersion(schema DevSchema, base *semver.Version, branch string, commitTime time.Time, sha string) string {
	if schema == DevSchemaLegacy {
		return DevVersion(base, branch, commitTime, sha)
	}
	return RFCDevVersion(base, branch, commitTime, sha)
}

// Channel is what kind of build a version is, as the RFC's release stages see
// it.
type Channel string

const (
	ChannelStable Channel = "stable" // X.Y.Z
	ChannelRC     Channel = "rc"     // X.Y.Z-rc.N: a release of a pre-release
	ChannelDev    Channel = "dev"    // any other pre-release, or not semver: a dev build
)

var rcPrerelease = regexp.MustCompile(`^rc\.(0|[1-9][0-9]*)$`)

// ChannelOf classifies a chart version: stable and release-candidate
// versions are releases (release catalogs, immutable, bumped where a policy
// admits them); everything else is a dev build.
func ChannelOf(version string) Channel {
	v, err := semver.StrictNewVersion(version)
	switch {
	case err != nil:
		return ChannelDev
	case v.Prerelease() == "":
		return ChannelStable
	case rcPrerelease.MatchString(v.Prerelease()):
		return ChannelRC
	}
	return ChannelDev
}

// IsDevBuild reports whether version is a dev build: it goes to test catalogs,
// is never bumped downstream, and is the only kind --force may overwrite. A
// release candidate (X.Y.Z-rc.N) is a pre-release but not a dev build.
func IsDevBuild(version string) bool { return ChannelOf(version) == ChannelDev }
