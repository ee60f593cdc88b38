package helmindex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/errdef"
)

// sharedData returns the path of a file in the team's shared data directory, or
// skips the test when that directory isn't there — and fails it in CI (CI=true),
// which always has it.
func sharedData(t testing.TB, name string) string {
	t.Helper()
	if d := os.Getenv("CHARTSHIP_SHARED_DATA"); d != "" {
		return filepath.Join(d, name)
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		p := filepath.Join(dir, "shared", "data", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			if os.Getenv("CI") == "true" {
				t.Fatalf("shared data %s not found: CI lays shared/ beside the clone (or set CHARTSHIP_SHARED_DATA)", name)
			}
			t.Skipf("shared data %s not found (set CHARTSHIP_SHARED_DATA)", name)
		}
		dir = parent
	}
}

var testNow = time.Date(2026, 11, 26, 11, 0, 0, 123456789, time.UTC)

func testEntry(t testing.TB, name, version string) *repo.ChartVersion {
	t.Helper()
	md := &helmchart.Metadata{
		APIVersion:  "v2",
		Name:        name,
		Version:     version,
		AppVersion:  "1.2.3",
		Description: "A chart for tests: with a colon, and a long description that goes on well past the eighty columns go-yaml folds at",
		Home:        "https://github.com/chartship/" + name,
		Annotations: map[string]string{"application.giantswarm.io/team": "atlas", "io.chartship/multi": "line one\nline two\n"},
		Maintainers: []*helmchart.Maintainer{{Name: "team", Email: "team@example.com"}},
	}
	cv, err := NewEntry(md, "https://example.github.io/catalog/", strings.Repeat("ab", 32), testNow.Add(-time.Hour))
	require.NoError(t, err)
	return cv
}

// helmMerge is the baseline: helm's `repo index --merge` of one entry into data.
func helmMerge(t testing.TB, data []byte, cv *repo.ChartVersion) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, os.WriteFile(p, data, 0o644))
	out, _, err := indexMergeHelm(p, cv, testNow)
	require.NoError(t, err)
	return out
}

// loadIndex parses data with helm's loader.
func loadIndex(t testing.TB, data []byte) *repo.IndexFile {
	t.Helper()
	p := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, os.WriteFile(p, data, 0o644))
	i, err := repo.LoadIndexFile(p)
	require.NoError(t, err)
	return i
}

// semantic is an index as comparable data: apiVersion and every entry by name and
// version, in helm's order.
func semantic(t testing.TB, i *repo.IndexFile) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"apiVersion": i.APIVersion, "entries": i.Entries})
	require.NoError(t, err)
	return string(b)
}

// assertOnlyInserted checks that out is old with ins inserted at one place and the
// generated line replaced, and nothing else.
func assertOnlyInserted(t *testing.T, old, out []byte, cv *repo.ChartVersion, newChart bool) {
	t.Helper()
	key, entry, err := indexRender(cv)
	require.NoError(t, err)
	ins := entry
	if newChart {
		ins = append(append([]byte{}, key...), entry...)
	}
	gen, err := indexGeneratedLine(testNow)
	require.NoError(t, err)
	at := bytes.Index(out, ins)
	require.GreaterOrEqual(t, at, 0, "the new entry is in the output verbatim")
	rest := append(append([]byte{}, out[:at]...), out[at+len(ins):]...)
	g := bytes.Index(old, []byte("\ngenerated: "))
	require.GreaterOrEqual(t, g, 0)
	gEnd := g + 1 + bytes.IndexByte(old[g+1:], '\n') + 1
	want := append(append(append([]byte{}, old[:g+1]...), gen...), old[gEnd:]...)
	require.True(t, bytes.Equal(want, rest), "apart from the new entry and generated, not a byte changed")
	// In helm's writer, a line at indent 2 starts every entry and chart.
	require.True(t, at == 0 || out[at-1] == '\n')
	require.True(t, bytes.HasPrefix(out[at+len(ins):], []byte("  ")) || bytes.HasPrefix(out[at+len(ins):], []byte("generated:")))
}

func TestIndexInsertRealIndex(t *testing.T) {
	old, err := os.ReadFile(sharedData(t, "control-plane-catalog-index.yaml"))
	require.NoError(t, err)
	for _, tc := range []struct {
		name, chart, version string
		newChart             bool
	}{
		{"new version of an existing chart", "alloy-gateway", "0.2.5", false},
		{"newest version of an existing chart", "alloy-gateway", "9.0.0", false},
		{"oldest version of an existing chart", "alloy-gateway", "0.0.1-dev.1", false},
		{"brand-new chart in the middle", "kyverno-extras", "1.0.0", true},
		{"brand-new chart first", "aaa", "1.0.0", true},
		{"brand-new chart last", "zzz-last", "0.1.0", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := testEntry(t, tc.chart, tc.version)
			out, res, err := indexInsert(old, cv, testNow)
			require.NoError(t, err, "the real index is canonical")
			assert.False(t, res.Present)
			assertOnlyInserted(t, old, out, cv, tc.newChart)
			got := loadIndex(t, out)
			want := loadIndex(t, helmMerge(t, old, cv))
			require.Equal(t, semantic(t, want), semantic(t, got), "equals helm's merge")
			require.True(t, got.Has(tc.chart, tc.version))
			require.Len(t, got.Entries[tc.chart], len(loadIndex(t, old).Entries[tc.chart])+1)
		})
	}
}

func TestIndexInsertRealIndexIdempotent(t *testing.T) {
	old, err := os.ReadFile(sharedData(t, "control-plane-catalog-index.yaml"))
	require.NoError(t, err)
	cv := testEntry(t, "alloy", "0.5.2")
	cv.Digest = "fa53c1d7cbf99b02710e069b6d268d96068400d86d9364dd4ed2fd9fe55f1453"
	out, res, err := indexInsert(old, cv, testNow)
	require.NoError(t, err)
	assert.True(t, res.Present)
	assert.Equal(t, old, out)

	cv.Digest = strings.Repeat("0", 64)
	_, _, err = indexInsert(old, cv, testNow)
	require.ErrorIs(t, err, catalogdef.ErrConflict)
	assert.Contains(t, err.Error(), "alloy 0.5.2")
}

// An index over the limit is refused, by Add before it is read and by Entries,
// with the size, the limit and what to do; the file is left as it was.
func TestIndexOverTheLimitIsRefused(t *testing.T) {
	defer func(old int64) { maxSize = old }(maxSize)
	maxSize = 64 << 10
	big := []byte("apiVersion: v1\nentries:\n  a:\n")
	for i := 0; len(big) <= int(maxSize); i++ {
		big = fmt.Appendf(big, "  - name: a\n    version: 1.0.%d\n    digest: %064d\n", i, i)
	}
	big = append(big, "generated: \"2025-01-01T00:00:00Z\"\n"...)
	path := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, os.WriteFile(path, big, 0o644))

	_, _, err := Add(path, testEntry(t, "a", "2.0.0"), testNow)
	require.ErrorIs(t, err, errdef.ErrCheck)
	assert.ErrorContains(t, err, "MiB, over the 0.1 MiB chartship reads")
	assert.ErrorContains(t, err, "chartship catalog prune")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, big, got, "nothing written")

	_, err = Entries(big, "a")
	require.ErrorIs(t, err, errdef.ErrCheck)

	// at the limit, both work
	maxSize = int64(len(big))
	_, _, err = Add(path, testEntry(t, "a", "2.0.0"), testNow)
	require.NoError(t, err)
	locs, err := Entries(big, "a")
	require.NoError(t, err)
	assert.Greater(t, len(locs), 100)
}
