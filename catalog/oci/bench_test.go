package oci_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/registrytest"
)

// BenchmarkOCIPush compares chartship's publish with helm's
// registry.Client.Push of the same chart to the same in-process registry:
// a fresh version each time, and the same bytes again. req/op counts the HTTP
// requests the registry received.
//
//	go test ./catalog -run '^$' -bench BenchmarkOCIPush -benchtime 200x
func BenchmarkOCIPush(b *testing.B) {
	ctx := context.Background()
	reg := registrytest.New(b)
	dir := b.TempDir()
	helm := ociHelmClient(b)
	cat := ociOpen(b, reg.Ref("chartship"), oci.Options{PlainHTTP: true}, nil)
	packages := map[int]*chart.Package{}
	pkgFor := func(i int) *chart.Package {
		if p, ok := packages[i]; ok {
			return p
		}
		p := ociTestPackage(b, dir, "bench", fmt.Sprintf("1.0.%d", i), "")
		packages[i] = p
		return p
	}
	reqs := func(b *testing.B, f func()) {
		reg.ResetRequests()
		b.ResetTimer()
		f()
		b.StopTimer()
		b.ReportMetric(float64(len(reg.RegistryRequests()))/float64(b.N), "req/op")
		writes := 0
		for _, r := range reg.RegistryRequests() {
			if r.IsWrite() {
				writes++
			}
		}
		b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
	}
	next := 0
	fresh := func(b *testing.B) []*chart.Package {
		b.StopTimer()
		defer b.StartTimer()
		out := make([]*chart.Package, b.N)
		for i := range out {
			out[i] = pkgFor(next)
			next++
		}
		return out
	}

	b.Run("fresh/chartship", func(b *testing.B) {
		pkgs := fresh(b)
		reqs(b, func() {
			for i := 0; i < b.N; i++ {
				res, err := cat.Publish(ctx, pkgs[i])
				if err != nil || res.Status != catalogdef.Published {
					b.Fatalf("publish: %v %v", res.Status, err)
				}
			}
		})
	})
	b.Run("fresh/helm", func(b *testing.B) {
		pkgs := fresh(b)
		b.StopTimer()
		datas := make([][]byte, len(pkgs))
		for i, p := range pkgs {
			d, err := os.ReadFile(p.Path)
			require.NoError(b, err)
			datas[i] = d
		}
		b.StartTimer()
		reqs(b, func() {
			for i := 0; i < b.N; i++ {
				if _, err := helm.Push(datas[i], fmt.Sprintf("%s/helm/bench:%s", reg.Host, pkgs[i].Version())); err != nil {
					b.Fatal(err)
				}
			}
		})
	})

	same := pkgFor(1_000_000)
	sameData, err := os.ReadFile(same.Path)
	require.NoError(b, err)
	_, err = cat.Publish(ctx, same)
	require.NoError(b, err)
	_, err = helm.Push(sameData, fmt.Sprintf("%s/helm/bench:%s", reg.Host, same.Version()))
	require.NoError(b, err)

	b.Run("repush/chartship", func(b *testing.B) {
		reqs(b, func() {
			for range b.N {
				res, err := cat.Publish(ctx, same)
				if err != nil || res.Status != catalogdef.AlreadyPublished {
					b.Fatalf("publish: %v %v", res.Status, err)
				}
			}
		})
	})
	b.Run("repush/helm", func(b *testing.B) {
		reqs(b, func() {
			for range b.N {
				if _, err := helm.Push(sameData, fmt.Sprintf("%s/helm/bench:%s", reg.Host, same.Version())); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// TestOCIPushRequestCounts pins the round trips the benchmark reports, so a
// regression fails a normal test run (counts, never timings).
func TestOCIPushRequestCounts(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	helm := ociHelmClient(t)
	cat := ociOpen(t, reg.Ref("chartship"), oci.Options{PlainHTTP: true}, nil)
	pkg := ociTestPackage(t, t.TempDir(), "counted", "1.0.0", "")
	data, err := os.ReadFile(pkg.Path)
	require.NoError(t, err)

	count := func(f func()) (total, writes int) {
		reg.ResetRequests()
		f()
		for _, r := range reg.RegistryRequests() {
			total++
			if r.IsWrite() {
				writes++
			}
		}
		return total, writes
	}
	csFresh, _ := count(func() { _, err := cat.Publish(ctx, pkg); require.NoError(t, err) })
	csAgain, csAgainWrites := count(func() { _, err := cat.Publish(ctx, pkg); require.NoError(t, err) })
	hFresh, _ := count(func() { _, err := helm.Push(data, reg.Host+"/helm/counted:1.0.0"); require.NoError(t, err) })
	hAgain, hAgainWrites := count(func() { _, err := helm.Push(data, reg.Host+"/helm/counted:1.0.0"); require.NoError(t, err) })
	t.Logf("fresh push: chartship %d requests, helm %d; same bytes again: chartship %d (%d writes), helm %d (%d writes)",
		csFresh, hFresh, csAgain, csAgainWrites, hAgain, hAgainWrites)
	require.LessOrEqual(t, csFresh, 8) // incl. the tag looked at again before the PUT and read back after it (tagwrite.go)
	require.Equal(t, 1, csAgain)
	require.Zero(t, csAgainWrites)
}

// BenchmarkOCIPushVsHelm interleaves the two pushes of each version —
// alternating which goes first — so that load on a shared machine hits both
// alike, and reports the per-push medians and their ratio (x-faster is helm's
// time over chartship's). Packages are made before the clock starts.
//
//	go test ./catalog -run '^$' -bench BenchmarkOCIPushVsHelm -benchtime 500x
func BenchmarkOCIPushVsHelm(b *testing.B) {
	ctx := context.Background()
	reg := registrytest.New(b)
	helm := ociHelmClient(b)
	cat := ociOpen(b, reg.Ref("chartship"), oci.Options{PlainHTTP: true}, nil)
	dir := b.TempDir()
	b.StopTimer()
	pkgs := make([]*chart.Package, b.N)
	datas := make([][]byte, b.N)
	for i := range pkgs {
		pkgs[i] = ociTestPackage(b, dir, "vs", fmt.Sprintf("2.0.%d", i), "")
		d, err := os.ReadFile(pkgs[i].Path)
		require.NoError(b, err)
		datas[i] = d
	}
	runtime.GC()
	var freshCS, freshHelm, againCS, againHelm []time.Duration
	timed := func(f func() error) time.Duration {
		t0 := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		pkg, data := pkgs[i], datas[i]
		ref := fmt.Sprintf("%s/helm/vs:%s", reg.Host, pkg.Version())
		cs := func() error {
			_, err := cat.Publish(ctx, pkg)
			return err
		}
		hp := func() error {
			_, err := helm.Push(data, ref)
			return err
		}
		if i%2 == 0 {
			freshCS = append(freshCS, timed(cs))
			freshHelm = append(freshHelm, timed(hp))
			againCS = append(againCS, timed(cs))
			againHelm = append(againHelm, timed(hp))
		} else {
			freshHelm = append(freshHelm, timed(hp))
			freshCS = append(freshCS, timed(cs))
			againHelm = append(againHelm, timed(hp))
			againCS = append(againCS, timed(cs))
		}
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds())
	}
	b.ReportMetric(med(freshCS), "fresh-chartship-µs")
	b.ReportMetric(med(freshHelm), "fresh-helm-µs")
	b.ReportMetric(med(freshHelm)/med(freshCS), "fresh-x-faster")
	b.ReportMetric(med(againCS), "again-chartship-µs")
	b.ReportMetric(med(againHelm), "again-helm-µs")
	b.ReportMetric(med(againHelm)/med(againCS), "again-x-faster")
}
