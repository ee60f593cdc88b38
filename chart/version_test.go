package chart

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
)

var (
	devRE       = regexp.MustCompile(`^(\d+\.\d+\.\d+)-r([0-9a-f]{8})t(\d{14})h([0-9a-f]{7})$`)
	legacyDevRE = regexp.MustCompile(`^(\d+\.\d+\.\d+)-dev\.([0-9A-Za-z-]+)\.(\d{14})\.h([0-9a-f]{7})$`)
)

func TestResolveVersionTagThenDev(t *testing.T) {
	ctx := context.Background()
	r := helloRepo(t)
	r.git("tag", "v1.4.0")

	v, err := ResolveVersion(ctx, r.dir, VersionOptions{})
	require.NoError(t, err)
	assert.Equal(t, "1.4.0", v.Version)
	assert.Equal(t, VersionFromTag, v.Source)
	assert.Equal(t, "v1.4.0", v.Tag)

	sha := r.commit("one more")
	v, err = ResolveVersion(ctx, r.dir, VersionOptions{})
	require.NoError(t, err)
	assert.Equal(t, VersionFromDev, v.Source)
	m := devRE.FindStringSubmatch(v.Version)
	require.NotNil(t, m, v.Version)
	assert.Equal(t, "1.4.1", m[1])
	assert.Equal(t, BranchChecksum("main"), m[2])
	assert.Equal(t, "main", v.Branch)
	assert.Equal(t, r.tick.UTC().Format("20060102150405"), m[3])
	assert.Equal(t, sha[:7], m[4])
	assert.Equal(t, "v1.4.0", v.Tag)

	dev := semver.MustParse(v.Version)
	assert.True(t, dev.GreaterThan(semver.MustParse("1.4.0")), "%s > 1.4.0", dev)
	assert.True(t, dev.LessThan(semver.MustParse("1.4.1")), "%s < 1.4.1", dev)

	// A later commit sorts above the earlier dev version.
	r.commit("and another")
	v2, err := ResolveVersion(ctx, r.dir, VersionOptions{})
	require.NoError(t, err)
	assert.True(t, semver.MustParse(v2.Version).GreaterThan(dev), "%s > %s", v2.Version, dev)
}

func TestResolveVersionCases(t *testing.T) {
	ctx := context.Background()

	t.Run("no tags", func(t *testing.T) {
		r := helloRepo(t)
		v, err := ResolveVersion(ctx, r.dir, VersionOptions{})
		require.NoError(t, err)
		assert.Regexp(t, `^0\.0\.1-r`+BranchChecksum("main")+`t\d{14}h[0-9a-f]{7}$`, v.Version)
	})
	t.Run("highest release tag reachable, pre-releases and foreign tags ignored", func(t *testing.T) {
		r := helloRepo(t)
		r.git("tag", "v1.2.0")
		r.commit("c2")
		r.git("tag", "v1.10.0")
		r.commit("c3")
		r.git("tag", "v2.0.0-rc.1")
		r.git("tag", "not-a-version")
		r.git("tag", "vlatest")
		r.commit("c4")
		v, err := ResolveVersion(ctx, r.dir, VersionOptions{})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(v.Version, "1.10.1-r"+BranchChecksum("main")+"t"), v.Version)
	})
	t.Run("exact pre-release tag", func(t *testing.T) {
		r := helloRepo(t)
		r.git("tag", "v2.0.0-rc.1")
		v, err := ResolveVersion(ctx, r.dir, VersionOptions{})
		require.NoError(t, err)
		assert.Equal(t, "2.0.0-rc.1", v.Version)
	})
	t.Run("tag prefix for monorepos", func(t *testing.T) {
		r := helloRepo(t)
		r.git("tag", "v9.0.0")
		r.git("tag", "hello/v1.3.0")
		v, err := ResolveVersion(ctx, r.dir, VersionOptions{TagPrefix: "hello/v"})
		require.NoError(t, err)
		assert.Equal(t, "1.3.0", v.Version)
		r.commit("next")
		v, err = ResolveVersion(ctx, r.dir, VersionOptions{TagPrefix: "hello/v"})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(v.Version, "1.3.1-r"), v.Version)
	})
	t.Run("legacy schema: branch sanitised and shortened", func(t *testing.T) {
		r := helloRepo(t)
		r.git("tag", "v1.0.0")
		r.git("checkout", "--quiet", "-b", "feature/JIRA-123_make_it_much_faster_and_also_better_than_before")
		r.commit("feature")
		v, err := ResolveVersion(ctx, r.dir, VersionOptions{DevSchema: DevSchemaLegacy})
		require.NoError(t, err)
		assert.LessOrEqual(t, len(v.Version), MaxVersionLength)
		m := legacyDevRE.FindStringSubmatch(v.Version)
		require.NotNil(t, m, v.Version)
		assert.True(t, strings.HasPrefix("feature-JIRA-123-make-it-much-faster-and-also-better-than-before", m[2]), m[2])
		assert.Equal(t, m[2], v.Branch)
	})
	t.Run("detached HEAD uses the given branch", func(t *testing.T) {
		r := helloRepo(t)
		r.commit("two")
		r.git("checkout", "--quiet", "--detach", "HEAD~1")
		v, err := ResolveVersion(ctx, r.dir, VersionOptions{})
		require.NoError(t, err)
		assert.Contains(t, v.Version, "-r"+BranchChecksum("detached")+"t")
		v, err = ResolveVersion(ctx, r.dir, VersionOptions{Branch: "renovate/helm-3.x"})
		require.NoError(t, err)
		assert.Contains(t, v.Version, "-r"+BranchChecksum("renovate/helm-3.x")+"t")
		v, err = ResolveVersion(ctx, r.dir, VersionOptions{Branch: "renovate/helm-3.x", DevSchema: DevSchemaLegacy})
		require.NoError(t, err)
		assert.Contains(t, v.Version, "-dev.renovate-helm-3-x.")
	})
	t.Run("--version wins without git", func(t *testing.T) {
		v, err := ResolveVersion(ctx, t.TempDir(), VersionOptions{Version: "3.2.1"})
		require.NoError(t, err)
		assert.Equal(t, Version{Version: "3.2.1", Source: VersionFromFlag}, v)
	})
	t.Run("no git and no --version", func(t *testing.T) {
		_, err := ResolveVersion(ctx, t.TempDir(), VersionOptions{})
		require.ErrorIs(t, err, errdef.ErrUsage)
		assert.Contains(t, err.Error(), "pass --version")
	})
	t.Run("build metadata rejected unless allowed", func(t *testing.T) {
		_, err := ResolveVersion(ctx, t.TempDir(), VersionOptions{Version: "1.2.3+abc"})
		require.ErrorIs(t, err, errdef.ErrUsage)
		assert.Contains(t, err.Error(), "--allow-build-metadata")
		v, err := ResolveVersion(ctx, t.TempDir(), VersionOptions{Version: "1.2.3+abc", AllowBuildMetadata: true})
		require.NoError(t, err)
		assert.Equal(t, "1.2.3+abc", v.Version)

		r := helloRepo(t)
		r.git("tag", "v1.2.3+build.5")
		_, err = ResolveVersion(ctx, r.dir, VersionOptions{})
		require.ErrorIs(t, err, errdef.ErrUsage)
		assert.Contains(t, err.Error(), "tag v1.2.3+build.5")
	})
	t.Run("bad semver", func(t *testing.T) {
		for _, bad := range []string{"1.2", "v1.2.3", "latest", "01.2.3", "1.2.3-"} {
			_, err := ResolveVersion(ctx, t.TempDir(), VersionOptions{Version: bad})
			require.ErrorIs(t, err, errdef.ErrUsage, bad)
			assert.Contains(t, err.Error(), fmt.Sprintf("%q", bad))
		}
		_, err := ResolveVersion(ctx, t.TempDir(), VersionOptions{Version: "v1.2.3"})
		assert.Contains(t, err.Error(), "drop the leading v: 1.2.3")
	})
	t.Run("repository without commits", func(t *testing.T) {
		r := newRepo(t, "hello")
		_, err := ResolveVersion(ctx, r.dir, VersionOptions{})
		require.ErrorIs(t, err, errdef.ErrUsage)
		assert.Contains(t, err.Error(), "pass --version")
	})
}

// TestResolveVersionShallowClone clones a file:// repository with --depth 1,
// as CircleCI does, one commit after the v1.4.0 tag.
func TestResolveVersionShallowClone(t *testing.T) {
	ctx := context.Background()
	src := helloRepo(t)
	src.git("tag", "v1.4.0")
	sha := src.commit("after the release")

	clone := func(t *testing.T) string {
		dst := filepath.Join(t.TempDir(), "hello")
		out, err := exec.Command("git", "clone", "--quiet", "--depth", "1", "--no-tags", "file://"+src.dir, dst).CombinedOutput()
		require.NoError(t, err, string(out))
		out, err = exec.Command("git", "-C", dst, "rev-parse", "--is-shallow-repository").Output()
		require.NoError(t, err)
		require.Equal(t, "true", strings.TrimSpace(string(out)))
		return dst
	}

	t.Run("fetches tags and history", func(t *testing.T) {
		dir := clone(t)
		v, err := ResolveVersion(ctx, dir, VersionOptions{})
		require.NoError(t, err)
		assert.True(t, v.Fetched)
		m := devRE.FindStringSubmatch(v.Version)
		require.NotNil(t, m, v.Version)
		assert.Equal(t, "1.4.1", m[1])
		assert.Equal(t, sha[:7], m[4])
	})
	t.Run("tag on HEAD needs no fetch", func(t *testing.T) {
		src.git("tag", "v1.4.1")
		defer src.git("tag", "-d", "v1.4.1")
		dst := filepath.Join(t.TempDir(), "hello")
		out, err := exec.Command("git", "clone", "--quiet", "--depth", "1", "--branch", "v1.4.1", "file://"+src.dir, dst).CombinedOutput()
		require.NoError(t, err, string(out))
		v, err := ResolveVersion(ctx, dst, VersionOptions{NoFetch: true})
		require.NoError(t, err)
		assert.Equal(t, "1.4.1", v.Version)
	})
	t.Run("no fetch: fails with the command to run", func(t *testing.T) {
		dir := clone(t)
		_, err := ResolveVersion(ctx, dir, VersionOptions{NoFetch: true})
		require.ErrorIs(t, err, errdef.ErrUsage)
		cmd := fmt.Sprintf("git -C %s fetch --unshallow --tags origin", dir)
		assert.Contains(t, err.Error(), "`"+cmd+"`")

		// The command it names works.
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		require.NoError(t, err, string(out))
		v, err := ResolveVersion(ctx, dir, VersionOptions{NoFetch: true})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(v.Version, "1.4.1-r"+BranchChecksum("main")+"t"), v.Version)
	})
	t.Run("unreachable remote: external error with the command", func(t *testing.T) {
		dir := clone(t)
		out, err := exec.Command("git", "-C", dir, "remote", "set-url", "origin", "https://user:s3cret@127.0.0.1:1/hello.git").CombinedOutput()
		require.NoError(t, err, string(out))
		_, err = ResolveVersion(ctx, dir, VersionOptions{})
		require.ErrorIs(t, err, errdef.ErrExternal)
		assert.Contains(t, err.Error(), "fetch --unshallow --tags origin")
		assert.NotContains(t, err.Error(), "s3cret")
	})
}

func TestDevVersion(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	base := semver.MustParse("1.4.0")
	assert.Equal(t, "1.4.1-dev.main.20260102020405.habcdef1", DevVersion(base, "main", at, "abcdef1234567"))
	assert.Equal(t, "1.4.1-dev.b0123.20260102020405.habcdef1", DevVersion(base, "0123", at, "abcdef1"))
	assert.Equal(t, "1.4.1-dev.x.20260102020405.habcdef1", DevVersion(base, "///", at, "abcdef1"))
	// Found by the fuzzer: shortening can leave only digits.
	v := DevVersion(base, strings.Repeat("0", 40)+"A", at, "abcdef1")
	_, err := semver.StrictNewVersion(v)
	require.NoError(t, err, v)
	long := DevVersion(semver.MustParse("123.456.789"), strings.Repeat("very-long-branch-", 10), at, "abcdef1")
	assert.Len(t, long, MaxVersionLength)
	_, err = semver.StrictNewVersion(long)
	require.NoError(t, err)
}

// FuzzDevVersion: any branch name gives a valid, bounded semver pre-release
// between the base release and the next patch.
func FuzzDevVersion(f *testing.F) {
	for _, s := range []string{"main", "feature/x", "0123", "", "---", "ünïcödé/ブランチ", "a.b.c", "1", strings.Repeat("x", 200), "-leading", "trailing-", "a__b", "HEAD"} {
		f.Add(s, uint64(1), int64(1764150000))
	}
	f.Fuzz(func(t *testing.T, branch string, patch uint64, unix int64) {
		if unix < 0 || unix > 253402300799 { // years 1970..9999 keep 14 digits
			t.Skip()
		}
		patch %= 1 << 32
		base := semver.New(1, 2, patch, "", "")
		v := DevVersion(base, branch, time.Unix(unix, 0), "0123456789abcdef")
		if len(v) > MaxVersionLength {
			t.Fatalf("%q is %d characters", v, len(v))
		}
		sv, err := semver.StrictNewVersion(v)
		if err != nil {
			t.Fatalf("%q is not strict semver: %v", v, err)
		}
		if !sv.GreaterThan(base) || !sv.LessThan(semver.New(1, 2, patch+1, "", "")) {
			t.Fatalf("%q does not sort between %s and the next patch", v, base)
		}
		ids := strings.Split(sv.Prerelease(), ".")
		if len(ids) != 4 || ids[0] != "dev" || !regexp.MustCompile(`^[0-9A-Za-z-]+$`).MatchString(ids[1]) {
			t.Fatalf("%q: pre-release %q is not dev.<branch>.<time>.h<sha>", v, sv.Prerelease())
		}
	})
}

func TestNewestRelease(t *testing.T) {
	vs := []string{"1.0.0", "1.1.0", "1.2.0-rc.1", "v1.3.0", "not-semver", "0.9.0"}
	assert.Equal(t, "1.1.0", NewestRelease(vs, ""), "pre-releases and non-strict versions are no releases")
	assert.Equal(t, "1.0.0", NewestRelease(vs, "1.1.0"), "below is exclusive")
	assert.Equal(t, "1.1.0", NewestRelease(vs, "1.2.0-dev.1"))
	assert.Equal(t, "1.1.0", NewestRelease(vs, "1.2.0"), "a pre-release sorts below its release and is none")
	assert.Equal(t, "1.1.0", NewestRelease(append(vs, "2.0.0-rc.1"), "2.0.0-rc.1"))
	assert.Equal(t, "", NewestRelease(vs, "0.9.0"))
	assert.Equal(t, "", NewestRelease(vs, "not-semver"))
	assert.Equal(t, "", NewestRelease(nil, ""))
	assert.False(t, IsPrerelease(NewestRelease(vs, "")), "agrees with IsPrerelease")
}
