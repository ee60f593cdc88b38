package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartship/chartship/internal/errdef"
)

// fuzzTar builds a gzipped tar of entries (name → body); a name ending in
// "@link" becomes a symlink to its body, "@dir" a directory.
func fuzzTar(entries ...[2]string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		name, body := e[0], e[1]
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}
		switch {
		case strings.HasSuffix(name, "@link"):
			h = &tar.Header{Name: strings.TrimSuffix(name, "@link"), Linkname: body, Typeflag: tar.TypeSymlink, Mode: 0o777}
		case strings.HasSuffix(name, "@dir"):
			h = &tar.Header{Name: strings.TrimSuffix(name, "@dir"), Typeflag: tar.TypeDir, Mode: 0o755}
		}
		_ = tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(body))
		}
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

const fuzzChartYAML = "apiVersion: v2\nname: fuzz\nversion: 1.0.0\n"

// gzipBomb is a gzip of n zero bytes inside one tar entry.
func gzipBomb(n int) []byte {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "fuzz/Chart.yaml", Mode: 0o644, Size: int64(len(fuzzChartYAML))})
	_, _ = tw.Write([]byte(fuzzChartYAML))
	_ = tw.WriteHeader(&tar.Header{Name: "fuzz/templates/bomb.yaml", Mode: 0o644, Size: int64(n)})
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(zeros) {
		_, _ = tw.Write(zeros[:min(left, len(zeros))])
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

// checkOpen is the property of every archive: Open either returns a valid
// package whose files all lie inside the chart, or a one-line usage error
// (exit 1) — never a panic.
func checkOpen(t *testing.T, data []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fuzz-1.0.0.tgz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pkg, err := Open(p)
	if err != nil {
		if !errors.Is(err, errdef.ErrUsage) {
			t.Fatalf("a bad archive is a usage error (exit 1), got %v", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("the error is not one line: %q", err)
		}
		return
	}
	if err := pkg.Metadata.Validate(); err != nil {
		t.Fatalf("opened an invalid chart: %v", err)
	}
	c, err := pkg.Load()
	if err != nil {
		t.Fatalf("Open accepted what Load refuses: %v", err)
	}
	for _, f := range append(c.Templates, c.Files...) {
		if strings.HasPrefix(f.Name, "/") || strings.Contains("/"+f.Name+"/", "/../") {
			t.Fatalf("a file outside the chart: %q", f.Name)
		}
	}
}

// FuzzOpenArchive feeds chart.Open arbitrary archives, seeded with the
// classics: path traversal, absolute paths, symlinks out of the chart,
// duplicate entries, a gzip bomb, a truncated archive.
func FuzzOpenArchive(f *testing.F) {
	valid := fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"fuzz/values.yaml", "a: 1\n"}, [2]string{"fuzz/templates/cm.yaml", "kind: ConfigMap\n"})
	for _, seed := range [][]byte{
		valid,
		valid[:len(valid)/2],
		fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"fuzz/../../etc/passwd", "root"}),
		fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"/etc/cron.d/x", "* * * * * root sh"}),
		fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"fuzz/templates/x@link", "../../../../etc/passwd"}),
		fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"fuzz/templates@link", "/etc"}),
		fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"fuzz/Chart.yaml", "apiVersion: v2\nname: other\nversion: 9.9.9\n"}),
		fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"other/Chart.yaml", "apiVersion: v2\nname: other\nversion: 1.0.0\n"}),
		fuzzTar([2]string{"fuzz@dir", ""}, [2]string{"fuzz/Chart.yaml", "name: [unclosed\n"}),
		gzipBomb(8 << 20),
		{},
		[]byte("not gzip at all"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkOpen(t, data) })
}

// FuzzChartAndValuesYAML puts arbitrary Chart.yaml and values.yaml into an
// otherwise valid archive: deep nesting, anchors and aliases (billion laughs),
// huge scalars, duplicate keys, wrong types.
func FuzzChartAndValuesYAML(f *testing.F) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	laughs := "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	for _, seed := range [][2]string{
		{fuzzChartYAML, "replicas: 1\n"},
		{fuzzChartYAML, "x: " + deep + "\n"},
		{fuzzChartYAML, laughs},
		{fuzzChartYAML + "name: again\n", "a: 1\na: 2\n"},
		{"apiVersion: v2\nname: ../evil\nversion: 1.0.0\n", ""},
		{"apiVersion: v2\nname: fuzz\nversion: not-semver\n", ""},
		{"apiVersion: v2\nname: fuzz\nversion: 1.0.0\ndependencies: [{name: x, repository: 'file://../../../'}]\n", ""},
		{"apiVersion: v2\nname: fuzz\nversion: [1]\n", ""},
		{"- just\n- a list\n", "- also a list\n"},
		{fuzzChartYAML, strings.Repeat("k: v\n", 1) + "big: " + strings.Repeat("x", 1<<16) + "\n"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, chartYAML, values string) {
		checkOpen(t, fuzzTar([2]string{"fuzz/Chart.yaml", chartYAML}, [2]string{"fuzz/values.yaml", values}, [2]string{"fuzz/templates/cm.yaml", "kind: ConfigMap\n"}))
	})
}

// TestOpenRefusesHostileArchives names what each hostile archive gets.
func TestOpenRefusesHostileArchives(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		says string
	}{
		{"path traversal", fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"fuzz/../../etc/passwd", "root"}), "illegally references parent directory"},
		{"gzip bomb past helm's 100 MiB", gzipBomb(120 << 20), "larger than the maximum"},
		{"not a gzip", []byte("plain text"), "not a valid chart archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.tgz")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(p)
			if err == nil || !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want a usage error saying %q, got %v", tc.says, err)
			}
		})
	}
	// symlinks in an archive are not followed: the link's target never becomes chart content
	data := fuzzTar([2]string{"fuzz/Chart.yaml", fuzzChartYAML}, [2]string{"fuzz/templates/x.yaml@link", "/etc/passwd"})
	p := filepath.Join(t.TempDir(), "x.tgz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if pkg, err := Open(p); err == nil {
		c, err := pkg.Load()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range c.Templates {
			if bytes.Contains(f.Data, []byte("root:")) {
				t.Fatalf("a symlink's target was read into %s", f.Name)
			}
		}
	}
}
