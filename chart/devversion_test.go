package chart

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDevVersionGolden checks both schemas against testdata/devversions/golden.tsv,
// whose checksums come from an independent implementation (Python's zlib.crc32)
// and whose first rows are the RFC's own examples.
func TestDevVersionGolden(t *testing.T) {
	f, err := os.Open("testdata/devversions/golden.tsv")
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		require.Len(t, col, 6, line)
		branch, err := strconv.Unquote(col[1])
		require.NoError(t, err, col[1])
		at, err := time.Parse(time.RFC3339, col[2])
		require.NoError(t, err)
		base := semver.MustParse(col[0])
		assert.Equal(t, col[4], RFCDevVersion(base, branch, at, col[3]), "rfc: %q", branch)
		assert.Equal(t, col[5], DevVersion(base, branch, at, col[3]), "legacy: %q", branch)
		assert.Equal(t, col[4], devVersion(DevSchemaRFC, base, branch, at, col[3]))
		assert.Equal(t, col[5], devVersion(DevSchemaLegacy, base, branch, at, col[3]))
		n++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, 8, n)
}

func TestBranchChecksumRFC(t *testing.T) {
	assert.Equal(t, "7b5b4fa7", BranchChecksum("my-feature"))
	// Always 8 digits, zero-padded.
	assert.Equal(t, "00000000", BranchChecksum(""))
	// The RFC's filters, verbatim.
	assert.Equal(t, `^.*-r7b5b4fa7t[0-9]{14}h[0-9a-f]{7}$`, DevFilter("my-feature"))
	assert.Equal(t, `^.*-r[0-9a-f]{8}t[0-9]{14}h[0-9a-f]{7}$`, AnyDevFilter)
}

// TestDevVersionRFCProperties: the properties the RFC lists for the schema.
func TestDevVersionRFCProperties(t *testing.T) {
	at := time.Date(2026, 1, 27, 9, 49, 59, 0, time.UTC)
	v := RFCDevVersion(semver.MustParse("1.9.1"), "my-feature", at, "1a2b3c4d")
	sv, err := semver.StrictNewVersion(v)
	require.NoError(t, err)
	pre := sv.Prerelease()
	assert.Len(t, "-"+pre, 33, "the pre-release part is 33 characters")
	assert.NotContains(t, pre, ".")
	assert.NotContains(t, pre, "-")

	// The branch filter selects it and never an RC; a loose filter matches RCs.
	branch := regexp.MustCompile(DevFilter("my-feature"))
	assert.True(t, branch.MatchString(v))
	assert.False(t, branch.MatchString("1.9.2-rc.1"))
	assert.False(t, branch.MatchString(RFCDevVersion(semver.MustParse("1.9.1"), "other", at, "1a2b3c4")))
	assert.True(t, regexp.MustCompile(AnyDevFilter).MatchString(v))
	assert.True(t, regexp.MustCompile(`.*-r.*`).MatchString("1.2.3-rc.1"), "the RFC's warning about loose filters")

	// One branch sorts by time; the current schema sorts above the legacy one.
	later := semver.MustParse(RFCDevVersion(semver.MustParse("1.9.1"), "my-feature", at.Add(time.Second), "0000000"))
	assert.True(t, later.GreaterThan(sv))
	assert.True(t, sv.GreaterThan(semver.MustParse(DevVersion(semver.MustParse("1.9.1"), "my-feature", at, "1a2b3c4"))))
	assert.True(t, sv.GreaterThan(semver.MustParse("1.9.1")) && sv.LessThan(semver.MustParse("1.9.2")))

	// The RFC's note on bare ranges: the first checksum digit decides against an RC.
	assert.True(t, semver.MustParse("1.9.2-r0aaaaaaat20260127094959h1a2b3c4").LessThan(semver.MustParse("1.9.2-rc.1")))
	assert.True(t, semver.MustParse("1.9.2-rcaaaaaaat20260127094959h1a2b3c4").GreaterThan(semver.MustParse("1.9.2-rc.1")))
}

func TestChannelOf(t *testing.T) {
	for v, want := range map[string]Channel{
		"1.2.3":                                  ChannelStable,
		"1.2.3-rc.1":                             ChannelRC,
		"1.2.3-rc.10":                            ChannelRC,
		"1.2.3-rc.01":                            ChannelDev, // not semver
		"1.2.3-rc1":                              ChannelDev,
		"1.2.3-rc.1.2":                           ChannelDev,
		"1.2.4-r7b5b4fa7t20260112120959h1a2b3c4": ChannelDev,
		"1.2.4-dev.main.20260112120959.h1a2b3c4": ChannelDev,
		"1.2.3-beta.1":                           ChannelDev,
		"v1.2.3":                                 ChannelDev,
		"latest":                                 ChannelDev,
	} {
		assert.Equal(t, want, ChannelOf(v), v)
		assert.Equal(t, want == ChannelDev, IsDevBuild(v), v)
	}
}

func TestParseDevSchema(t *testing.T) {
	for in, want := range map[string]DevSchema{"": DevSchemaRFC, "rfc": DevSchemaRFC, "legacy": DevSchemaLegacy} {
		got, err := ParseDevSchema(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseDevSchema("dev")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"rfc"`)
}

// TestResolveVersionRFC: the committer date (not the author date) in UTC, the
// full branch name, nobuild/ branches skipped unless on a tag.
func TestResolveVersionRFC(t *testing.T) {
	ctx := context.Background()
	r := helloRepo(t)
	r.git("tag", "v1.2.3")
	r.git("checkout", "--quiet", "-b", "my-feature")
	cmd := exec.Command("git", "-C", r.dir, "commit", "--quiet", "--allow-empty", "-m", "dates differ")
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_AUTHOR_DATE=2025-01-01T00:00:00+00:00", "GIT_COMMITTER_DATE=2026-01-12T14:09:59+02:00", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	sha := r.git("rev-parse", "HEAD")

	v, err := ResolveVersion(ctx, r.dir, VersionOptions{})
	require.NoError(t, err)
	assert.Equal(t, "1.2.4-r7b5b4fa7t20260112120959h"+sha[:7], v.Version)
	assert.Equal(t, "my-feature", v.Branch)
	assert.Equal(t, "7b5b4fa7", v.BranchChecksum)
	assert.Equal(t, VersionFromDev, v.Source)

	v, err = ResolveVersion(ctx, r.dir, VersionOptions{DevSchema: DevSchemaLegacy})
	require.NoError(t, err)
	assert.Equal(t, "1.2.4-dev.my-feature.20260112120959.h"+sha[:7], v.Version)

	_, err = ResolveVersion(ctx, r.dir, VersionOptions{DevSchema: "weird"})
	require.Error(t, err)

	t.Run("nobuild branch", func(t *testing.T) {
		r.git("checkout", "--quiet", "-b", "nobuild/i-dont-care")
		r.commit("not built")
		v, err := ResolveVersion(ctx, r.dir, VersionOptions{})
		require.ErrorIs(t, err, ErrNoBuild)
		assert.Contains(t, err.Error(), "nobuild/i-dont-care")
		assert.Equal(t, "", v.Version)
		// CI passing the branch of a detached HEAD counts too.
		_, err = ResolveVersion(ctx, r.dir, VersionOptions{Branch: "nobuild/x"})
		require.ErrorIs(t, err, ErrNoBuild)
		// A tag made by hand on a nobuild branch is built, as the RFC says.
		r.git("tag", "v1.2.4-r7b5b4fa7t20260112120959h1a2b3c4")
		v, err = ResolveVersion(ctx, r.dir, VersionOptions{})
		require.NoError(t, err)
		assert.Equal(t, "1.2.4-r7b5b4fa7t20260112120959h1a2b3c4", v.Version)
		assert.Equal(t, VersionFromTag, v.Source)
	})
}

// FuzzRFCDevVersion: any branch bytes give a valid semver dev build with a
// 33-character pre-release that its branch filter selects, within 63 characters.
func FuzzRFCDevVersion(f *testing.F) {
	for _, s := range []string{"main", "my-feature", "", "nobuild/x", "\xff\x00", strings.Repeat("x", 300)} {
		f.Add(s, int64(1769507399), "1a2b3c4d")
	}
	f.Fuzz(func(t *testing.T, branch string, unix int64, sha string) {
		if unix < 0 || unix > 253402300799 { // years 1970–9999: 14 digits
			return
		}
		v := RFCDevVersion(semver.MustParse("999.999.998"), branch, time.Unix(unix, 0), sha)
		sv, err := semver.StrictNewVersion(v)
		if err != nil {
			t.Fatalf("%q → %q: %v", branch, v, err)
		}
		if len(sv.Prerelease()) != 32 || len(v) > MaxVersionLength {
			t.Fatalf("%q → %q: bad length", branch, v)
		}
		if !regexp.MustCompile(DevFilter(branch)).MatchString(v) || IsDevBuild(v) != true {
			t.Fatalf("%q → %q: not selected by its filter", branch, v)
		}
	})
}
