package helmindex

// Acceptance benchmark:
//
//	go test ./catalog/internal/helmindex -run '^$' -bench IndexInsert -benchmem -benchtime 5x
//
// BenchmarkIndexInsert compares the splice (one read, one write of index.yaml)
// with helm's LoadIndexFile+Merge+SortEntries+WriteFile on the real 4 MB index
// and a synthetic 9.3 MB one; each sub-benchmark also reports the peak RSS of a
// child process doing one insert (peak-RSS-MB). The git catalog's publish
// benchmark is in catalog/gitrepo.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"
)

var (
	synthOnce sync.Once
	synthPath string
)

// syntheticIndex scales the real index up to giantswarm-catalog's 9.3 MB: the
// same entries again under other chart names, written by helm's writer.
func syntheticIndex(b *testing.B, real string) string {
	synthOnce.Do(func() {
		i, err := repo.LoadIndexFile(real)
		require.NoError(b, err)
		out := repo.NewIndexFile()
		out.Generated = i.Generated
		for copyN := 0; ; copyN++ {
			for name, cvs := range i.Entries {
				n := fmt.Sprintf("%s-copy%d", name, copyN)
				for _, cv := range cvs {
					c := *cv
					md := *cv.Metadata
					md.Name = n
					c.Metadata = &md
					c.URLs = []string{strings.Replace(cv.URLs[0], "/"+name+"-", "/"+n+"-", 1)}
					out.Entries[n] = append(out.Entries[n], &c)
				}
			}
			out.SortEntries()
			dir, err := os.MkdirTemp("", "chartship-bench")
			require.NoError(b, err)
			p := filepath.Join(dir, "index.yaml")
			require.NoError(b, out.WriteFile(p, 0o644))
			st, err := os.Stat(p)
			require.NoError(b, err)
			if st.Size() >= 9_300_000 {
				synthPath = p
				return
			}
			os.RemoveAll(dir)
		}
	})
	return synthPath
}

// helmInsert is the baseline: what `helm repo index --merge` does to add one chart.
func helmInsert(src, dst string, cv *repo.ChartVersion) error {
	old, err := repo.LoadIndexFile(src)
	if err != nil {
		return err
	}
	i := repo.NewIndexFile()
	i.Entries[cv.Name] = repo.ChartVersions{cv}
	i.Merge(old)
	i.SortEntries()
	return i.WriteFile(dst, 0o644)
}

// spliceInsert is ours: read, splice, write.
func spliceInsert(src, dst string, cv *repo.ChartVersion) error {
	old, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	out, _, err := indexInsert(old, cv, time.Now().UTC())
	if err != nil {
		return err
	}
	return os.WriteFile(dst, out, 0o644)
}

func benchEntry() *repo.ChartVersion {
	md := &helmchart.Metadata{APIVersion: "v2", Name: "alloy-gateway", Version: "0.2.5", Description: "bench", AppVersion: "1.0"}
	cv, _ := NewEntry(md, "https://giantswarm.github.io/control-plane-catalog/", strings.Repeat("ab", 32), time.Now().UTC())
	return cv
}

// TestIndexInsertOnce is the child process the benchmarks measure peak RSS of.
func TestIndexInsertOnce(t *testing.T) {
	mode, src := os.Getenv("CHARTSHIP_BENCH_MODE"), os.Getenv("CHARTSHIP_BENCH_INDEX")
	if mode == "" {
		t.Skip("a child of BenchmarkIndexInsert")
	}
	dst := filepath.Join(t.TempDir(), "index.yaml")
	switch mode {
	case "helm":
		require.NoError(t, helmInsert(src, dst, benchEntry()))
	case "splice":
		require.NoError(t, spliceInsert(src, dst, benchEntry()))
	}
	// The high-water mark of this process's resident memory.
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Printf("PEAK-RSS-KB %s\n", strings.Fields(line)[1])
		}
	}
}

func peakRSS(b *testing.B, mode, src string) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIndexInsertOnce$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "CHARTSHIP_BENCH_MODE="+mode, "CHARTSHIP_BENCH_INDEX="+src)
	out, err := cmd.CombinedOutput()
	require.NoError(b, err, string(out))
	_, kb, ok := strings.Cut(string(out), "PEAK-RSS-KB ")
	require.True(b, ok, string(out))
	var v float64
	_, err = fmt.Sscan(kb, &v)
	require.NoError(b, err)
	return v / 1024
}

func BenchmarkIndexInsert(b *testing.B) {
	real := sharedData(b, "control-plane-catalog-index.yaml")
	for _, idx := range []struct {
		name string
		path func() string
	}{
		{"real-4MB", func() string { return real }},
		{"synthetic-9.3MB", func() string { return syntheticIndex(b, real) }},
	} {
		for _, m := range []struct {
			name string
			f    func(src, dst string, cv *repo.ChartVersion) error
		}{{"splice", spliceInsert}, {"helm", helmInsert}} {
			b.Run(idx.name+"/"+m.name, func(b *testing.B) {
				src := idx.path()
				dst := filepath.Join(b.TempDir(), "index.yaml")
				cv := benchEntry()
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := m.f(src, dst, cv); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				// The child's peak less that of a child that inserts nothing (the
				// test binary itself: Go runtime, helm and k8s packages).
				peak, base := peakRSS(b, m.name, src), peakRSS(b, "none", src)
				b.ReportMetric(peak, "peak-RSS-MB")
				b.ReportMetric(peak-base, "insert-RSS-MB")
			})
		}
	}
}
