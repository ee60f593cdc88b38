package helmindex

import (
	"github.com/chartship/chartship/catalog/internal/catalogdef"

	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestIndexGolden runs each testdata/index/<case>: original.yaml plus the entry
// helm writes for chart.yaml gives expected.yaml. Canonical originals are
// spliced (expected differs from original only by the entry and generated);
// others go through helm's merge. Every result equals helm's merge semantically.
func TestIndexGolden(t *testing.T) {
	cases, err := os.ReadDir(filepath.Join("testdata", "index"))
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "index", c.Name())
			orig, err := os.ReadFile(filepath.Join(dir, "original.yaml"))
			require.NoError(t, err)
			mdb, err := os.ReadFile(filepath.Join(dir, "chart.yaml"))
			require.NoError(t, err)
			var md helmchart.Metadata
			require.NoError(t, yaml.Unmarshal(mdb, &md))
			cv, err := NewEntry(&md, "https://example.github.io/catalog/", strings.Repeat("d", 64), testNow)
			require.NoError(t, err)

			p := filepath.Join(t.TempDir(), "index.yaml")
			require.NoError(t, os.WriteFile(p, orig, 0o644))
			got, res, err := Add(p, cv, testNow)
			require.NoError(t, err)
			_, scanErr := indexScan(orig)
			canonical := scanErr == nil
			if canonical {
				assert.Empty(t, res.Note)
			} else {
				assert.True(t, errors.Is(scanErr, errIndexNotCanonical))
				assert.Contains(t, res.Note, "helm's merge", "a fallback says so")
			}

			golden := filepath.Join(dir, "expected.yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))

			assert.Equal(t, semantic(t, loadIndex(t, helmMerge(t, orig, cv))), semantic(t, loadIndex(t, got)), "equals helm's merge")
			if canonical && !bytes.Contains(orig, []byte("entries: {}")) {
				assertOnlyInserted(t, orig, got, cv, len(loadIndex(t, orig).Entries[cv.Name]) == 0)
			}
		})
	}
}

// FuzzIndexInsert: whatever the index holds, an insert never corrupts it. When
// helm can load the original, the result loads too and holds every old entry and
// the new one (or the call fails with a clear error and writes nothing).
func FuzzIndexInsert(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "index", "*", "original.yaml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b, "alpha", "1.2.3")
			f.Add(b, "newchart", "0.1.0-dev.1")
		}
	}
	f.Add([]byte("apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: \"1.0\"\n    x: \"multi\n  b:\n  - y\"\ngenerated: \"2025-01-01T00:00:00Z\"\n"), "a", "2.0.0")
	f.Add([]byte("apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0\n    d: |\n  b:\ngenerated: x\n"), "b", "2.0.0")
	f.Fuzz(func(t *testing.T, data []byte, name, version string) {
		md := &helmchart.Metadata{APIVersion: "v2", Name: name, Version: version}
		// Chart.yaml is YAML, so names and versions are UTF-8 (helm's writer,
		// going through JSON, would replace anything else).
		if md.Validate() != nil || len(data) > 1<<16 || !utf8.ValidString(name) || !utf8.ValidString(version) {
			t.Skip()
		}
		// Validate sanitizes (drops control characters), as helm's loader does
		// to every chart chartship packages: the entry is the sanitized one
		// (testdata/fuzz/FuzzIndexInsert/f60e1dc82ffb0adb, "n\x00\x00chart").
		name, version = md.Name, md.Version
		cv, err := NewEntry(md, "https://example.com/", strings.Repeat("e", 64), testNow)
		if err != nil {
			t.Skip()
		}
		oldIdx, oldErr := fuzzLoad(data)
		var out []byte
		var res AddResult
		done := make(chan struct{})
		go func() {
			defer close(done)
			out, res, err = indexInsert(data, cv, testNow)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("indexInsert hangs on:\n%q", data)
		}
		if errors.Is(err, errIndexNotCanonical) {
			return // helm's merge takes over: its behaviour, not ours
		}
		if oldErr != nil {
			return // an index helm can't read: whatever the splice did, nothing is lost
		}
		if err != nil {
			require.ErrorIs(t, err, catalogdef.ErrConflict, "only a conflict or a duplicate may stop an insert")
			return
		}
		newIdx, newErr := fuzzLoad(out)
		require.NoError(t, newErr, "the result parses:\n%s", out)
		if res.Present {
			return
		}
		for n, cvs := range oldIdx.Entries {
			for _, old := range cvs {
				require.True(t, fuzzHas(newIdx, n, old.Version), "old entry %s %s kept:\n%s", n, old.Version, out)
			}
		}
		require.True(t, fuzzHas(newIdx, name, version), "new entry present:\n%s", out)
	})
}

func fuzzLoad(data []byte) (*repo.IndexFile, error) {
	dir, err := os.MkdirTemp("", "fuzz")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "index.yaml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return nil, err
	}
	return repo.LoadIndexFile(p)
}

func fuzzHas(i *repo.IndexFile, name, version string) bool {
	for _, cv := range i.Entries[name] {
		if cv.Version == version {
			return true
		}
	}
	return false
}
