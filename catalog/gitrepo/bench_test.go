package gitrepo

// BenchmarkGitPublishCatalogSize publishes into catalogs holding 50 and 5,000
// archives. Its synthetic index has ~270 B per entry (index-KB: 1,340 at
// 5,000) where the real one has ~730 (4 MB for 5,516), so it understates the
// index-proportional part of the cost. What still grows with the catalog is
// the flat root tree (10,000 entries, ~550 KB) and the index, each read,
// hashed, deltified and pushed once per publish by git on both ends.
//
//	go test ./catalog/gitrepo -run '^$' -bench GitPublishCatalogSize -benchmem -benchtime 5x

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/internal/helmindex"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/gittest"
)

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
		cv, err := helmindex.NewEntry(md, "https://example.github.io/catalog/", strings.Repeat("f", 64), time.Now().UTC())
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
				pkgs = append(pkgs, charttest.Package(b, filepath.Join(dir, fmt.Sprint(k)), "bench", fmt.Sprintf("0.0.%d", k)))
			}
			b.ResetTimer()
			for k := range b.N {
				res, err := c.Publish(context.Background(), pkgs[k])
				if err != nil || res.Status != catalogdef.Published {
					b.Fatal(err, res.Status)
				}
			}
			b.StopTimer()
			// What a publish downloads: the size of the clone it works in.
			w, err := c.checkout(context.Background())
			require.NoError(b, err)
			defer w.Close()
			var size int64
			require.NoError(b, filepath.WalkDir(filepath.Join(w.Repo.Dir, "objects"), func(_ string, d os.DirEntry, err error) error {
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
			st, err := os.Stat(filepath.Join(w.Dir, "index.yaml"))
			require.NoError(b, err)
			b.ReportMetric(float64(st.Size())/1024, "index-KB")
		})
	}
}
