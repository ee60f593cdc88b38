package gitops

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResolveOCIRef follows source-controller's rules (its OCIRepository
// controller and docs/spec/v1/ocirepositories.md): digest > semver > tag >
// latest; semverFilter is an unanchored regexp applied before the range and
// only with semver; ranges without a pre-release comparator skip
// pre-releases, "-0" admits them; tags that aren't semver are dropped; the
// tag comes back as written.
func TestResolveOCIRef(t *testing.T) {
	podinfo := []string{"6.1.4", "6.1.5", "6.1.6", "6.1.5-rc.1", "6.1.6-rc.1", "6.1.7-rc.1", "latest", "6.1", "6.1.8+build.1"}
	const digest = "sha256:2d4f0b1c5e6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"
	for _, c := range []struct {
		name string
		ref  OCIRef
		tags []string
		want string
	}{
		{"semver skips pre-releases", OCIRef{SemVer: ">= 6.1.5"}, podinfo, "6.1.6"},
		{"-0 admits pre-releases", OCIRef{SemVer: ">= 6.1.x-0"}, podinfo, "6.1.7-rc.1"},
		{"the docs' rc example", OCIRef{SemVer: ">= 6.1.x-0", SemverFilter: ".*-rc.*"}, []string{"6.1.6", "6.1.5-rc.1", "6.2.0"}, "6.1.5-rc.1"},
		{"filter is unanchored", OCIRef{SemVer: ">=0.0.0-0", SemverFilter: "rc"}, []string{"1.0.0", "1.0.1-rc.1", "0.9.0-rc.2"}, "1.0.1-rc.1"},
		{"anchored filter", OCIRef{SemVer: ">=0.0.0-0", SemverFilter: "^1\\.0"}, []string{"1.0.0", "11.0.0", "1.0.1-rc.1"}, "1.0.1-rc.1"},
		{"filter before the range: no stable sneaks in", OCIRef{SemVer: "*", SemverFilter: ".*-rc\\..*"}, []string{"1.0.0", "1.1.0-rc.1"}, ""},
		{"the RFC's testing stage", OCIRef{SemVer: ">=0.0.0-0", SemverFilter: ".*-rc\\..*"}, []string{"1.9.1", "1.9.2-rc.1", "1.9.2-r7b5b4fa7t20260127094959h1a2b3c4"}, "1.9.2-rc.1"},
		{"the RFC's dev stage", OCIRef{SemVer: ">=0.0.0-0", SemverFilter: "^.*-r7b5b4fa7t[0-9]{14}h[0-9a-f]{7}$"},
			[]string{"1.9.2-rc.1", "1.9.2-r7b5b4fa7t20260127094959h1a2b3c4", "1.9.2-r7b5b4fa7t20260128000000h0000000", "1.9.3-rd83f5747t20260128000000h0000000"},
			"1.9.2-r7b5b4fa7t20260128000000h0000000"},
		{"a loose dev filter picks an RC", OCIRef{SemVer: ">=0.0.0-0", SemverFilter: ".*-r.*"}, []string{"1.9.2-r0aaaaaaat20260127094959h1a2b3c4", "1.9.2-rc.1"}, "1.9.2-rc.1"},
		{"v prefix kept as written", OCIRef{SemVer: ">=1.0.0"}, []string{"1.0.0", "v1.1.0"}, "v1.1.0"},
		{"non-semver and +build (as _) tags dropped", OCIRef{SemVer: ">=1.0.0"}, []string{"1.0.0", "latest", "2.0", "1.5.0+build.1"}, "1.0.0"},
		{"digest wins", OCIRef{Digest: digest, SemVer: "*", Tag: "1.0.0"}, podinfo, "@" + digest},
		{"semver wins over tag", OCIRef{SemVer: "6.1.4", Tag: "6.1.6"}, podinfo, "6.1.4"},
		{"tag", OCIRef{Tag: "6.1.5"}, podinfo, "6.1.5"},
		{"filter without semver is ignored", OCIRef{Tag: "6.1.5", SemverFilter: "nothing"}, podinfo, "6.1.5"},
		{"no ref: latest", OCIRef{}, podinfo, "latest"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ResolveOCIRef(c.ref, c.tags)
			if c.want == "" {
				require.ErrorIs(t, err, ErrNoMatch)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}

	// Bad input Flux rejects too.
	_, err := ResolveOCIRef(OCIRef{SemVer: "*", SemverFilter: "(("}, podinfo)
	assert.ErrorContains(t, err, "semverFilter")
	_, err = ResolveOCIRef(OCIRef{SemVer: "*-*"}, podinfo)
	assert.ErrorContains(t, err, ">=0.0.0-0")
	_, err = ResolveOCIRef(OCIRef{SemVer: "one"}, podinfo)
	assert.ErrorContains(t, err, "rejects the range")
}

// TestStagePlanByVersion publishes a stable release, an RC and a dev build
// of branch my-feature against the release-stages fleet: each moves exactly
// its stage, and only the moving stages' Receivers are to be called.
func TestStagePlanByVersion(t *testing.T) {
	dir := filepath.Join("..", "testdata", "gitops", "release-stages", "original")
	available := []string{"1.0.0", "1.1.0", "v1.1.1", "1.2.0-rc.0", "1.2.1-r7b5b4fa7t20260112120959h1a2b3c4"}
	for _, c := range []struct {
		version   string
		moves     []string // clusters
		receivers []string
	}{
		{"1.2.0", []string{"clusters/stable-mc"}, []string{"flux-system/stable-charts"}},
		{"1.1.2", []string{"clusters/stable-mc", "clusters/stable-pinned"}, []string{"flux-system/stable-charts"}},
		{"1.2.0-rc.1", []string{"clusters/testing-mc"}, []string{"flux-system/testing-hello"}},
		{"1.2.1-r7b5b4fa7t20260201000000h1234567", []string{"clusters/dev-mc", "clusters/legacy-mc"}, []string{"flux-system/dev-hello"}},
		{"1.2.1-rd83f5747t20260201000000h1234567", []string{"clusters/legacy-mc"}, []string{}},
	} {
		t.Run(c.version, func(t *testing.T) {
			plan, err := PlanDir(context.Background(), dir, Request{Chart: "hello", Version: c.version, Available: available, Policy: PolicyNone}, Options{})
			require.NoError(t, err)
			var moves []string
			for _, st := range plan.Stages {
				if st.Moves {
					moves = append(moves, st.Cluster)
					assert.Equal(t, c.version, st.After)
				}
			}
			assert.Equal(t, c.moves, moves)
			assert.Equal(t, c.receivers, plan.MovingReceivers())
			assert.Len(t, plan.Stages, 7)
			assert.Len(t, plan.Problems, 4, "the broken files are still reported: %v", plan.Problems)
		})
	}
}
