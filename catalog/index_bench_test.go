package catalog

// Acceptance benchmarks (run in one go):
//
//	go test ./catalog -run '^$' -bench 'IndexInsert|GitPublishCatalogSize' -benchmem -benchtime 5x
//
// BenchmarkIndexInsert compares the splice (one read, one write of index.yaml)
// with helm's LoadIndexFile+Merge+SortEntries+WriteFile on the real 4 MB index
// and a synthetic 9.3 MB one; each sub-benchmark also reports the peak RSS of a
// child process doing one insert (peak-RSS-MB). BenchmarkGitPublishCatalogSize
// publishes into catalogs holding 50 and 5,000 archives. Its synthetic index has
// ~270 B per entry (index-KB: 1,340 at 5,000) where the real one has ~730 (4 MB
// for 5,516), so it understates the index-proportional part of the cost. What
// still grows with the catalog is the flat root tree (10,000 entries, ~550 KB)
// and the index, each read, hashed, deltified and pushed once per publish by
// git on both ends.

import (
	"bytes"
	"context"
	"crypto/rand"
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

	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/gittest"
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
	cv, _ := indexNewEntry(md, "https://giantswarm.github.io/control-plane-catalog/", strings.Repeat("ab", 32), time.Now().UTC())
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

// syntheticCatalog makes a bare catalog with n archives (8 KiB of noise each),
// their -meta/ folders and an index listing them, over a few commits.
func syntheticCatalog(b *testing.B, n int) string {
	bare := filepath.Join(b.TempDir(), "catalog.git")
	bareCatalog(b, bare, nil)
	i := repo.NewIndexFile()
	var stream bytes.Buffer
	mark := 0
	blob := func(data []byte) int {
		mark++
		fmt.Fprintf(&stream, "blob\nmark :%d\ndata %d\n", mark, len(data))
		stream.Write(data)
		stream.WriteString("\n")
		return mark
	}
	type file struct {
		path string
		mark int
	}
	var files []file
	noise := make([]byte, 8192)
	for k := range n {
		name, version := fmt.Sprintf("app-%d", k%100), fmt.Sprintf("1.%d.0", k/100)
		_, _ = rand.Read(noise)
		tgz := name + "-" + version + ".tgz"
		files = append(files, file{tgz, blob(noise)}, file{tgz + "-meta/main.yaml", blob([]byte("chartFile: " + tgz + "\n"))})
		md := &helmchart.Metadata{APIVersion: "v2", Name: name, Version: version, Description: "synthetic"}
		cv, err := indexNewEntry(md, "https://example.github.io/catalog/", strings.Repeat("f", 64), time.Now().UTC())
		require.NoError(b, err)
		i.Entries[name] = append(i.Entries[name], cv)
	}
	i.SortEntries()
	p := filepath.Join(b.TempDir(), "index.yaml")
	require.NoError(b, i.WriteFile(p, 0o644))
	idx, err := os.ReadFile(p)
	require.NoError(b, err)
	files = append(files, file{"index.yaml", blob(idx)})
	// Three commits: the archives in two halves, then the index.
	parts := [][]file{files[:len(files)/2], files[len(files)/2 : len(files)-1], files[len(files)-1:]}
	for c, part := range parts {
		fmt.Fprintf(&stream, "commit refs/heads/main\ncommitter t <t@example.com> %d +0000\ndata 4\nseed\n", 1700000000+c)
		for _, f := range part {
			fmt.Fprintf(&stream, "M 100644 :%d %s\n", f.mark, f.path)
		}
		stream.WriteString("\n")
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = bare
	cmd.Env = gittest.Env()
	cmd.Stdin = &stream
	out, err := cmd.CombinedOutput()
	require.NoError(b, err, string(out))
	gittest.Git(b, bare, "repack", "-adq")
	return bare
}

func BenchmarkGitPublishCatalogSize(b *testing.B) {
	for _, n := range []int{50, 5000} {
		b.Run(fmt.Sprintf("archives-%d", n), func(b *testing.B) {
			bare := syntheticCatalog(b, n)
			c, err := Open("git+file://"+bare, testGitOptions())
			require.NoError(b, err)
			pkgs := make([]*chart.Package, 0, b.N)
			dir := b.TempDir()
			for k := range b.N {
				pkgs = append(pkgs, testPackage(b, filepath.Join(dir, fmt.Sprint(k)), "bench", fmt.Sprintf("0.0.%d", k)))
			}
			b.ResetTimer()
			for k := range b.N {
				res, err := c.Publish(context.Background(), pkgs[k])
				if err != nil || res.Status != Published {
					b.Fatal(err, res.Status)
				}
			}
			b.StopTimer()
			// What a publish downloads: the size of the clone it works in.
			w, err := c.(*gitCatalog).checkout(context.Background())
			require.NoError(b, err)
			defer w.close()
			var size int64
			require.NoError(b, filepath.WalkDir(filepath.Join(w.repo.Dir, "objects"), func(_ string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if info, err := d.Info(); err == nil {
						size += info.Size()
					}
				}
				return err
			}))
			b.ReportMetric(float64(size)/1024, "clone-KB")
			// The index a publish reads, splices and writes back: it grows with
			// the catalog (~250 B per synthetic entry; the real index has ~730).
			st, err := os.Stat(filepath.Join(w.dir, "index.yaml"))
			require.NoError(b, err)
			b.ReportMetric(float64(st.Size())/1024, "index-KB")
		})
	}
}
