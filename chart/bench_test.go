package chart

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
)

// BenchmarkPackage packages the hello chart with chartship and with Helm's
// action.Package (the baseline) in the same run. chartship does more: it
// resolves the version from git, lints (Helm's rules, once per values file) and
// checks the schema, and verifies the archive loads. "nolint" on a plain
// directory with --version is the like-for-like comparison with helm package;
// "git-lint" is a full release build (version from tags, lint, schema).
//
//	go test -run '^$' -bench Package -benchmem ./chart/
func BenchmarkPackage(b *testing.B) {
	src := filepath.Join(testCharts(b), "hello")
	r := newRepo(b, "hello")
	copyDir(b, src, r.dir)
	r.commit("hello")
	r.git("tag", "v1.4.0")
	plain := filepath.Join(b.TempDir(), "hello") // no git: what helm package sees
	copyDir(b, src, plain)
	ctx := context.Background()

	b.Run("helm-action.Package", func(b *testing.B) {
		dest := b.TempDir()
		defer reportCPU(b)()
		for b.Loop() {
			p := action.NewPackage()
			p.Version = "1.4.0"
			p.Destination = dest
			if _, err := p.Run(plain, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What chartship-lint does, with helm: lint with values.yaml and with
	// ci/default-values.yaml (like chart-testing), then package.
	ciValues, err := chartutil.ReadValuesFile(filepath.Join(plain, "ci", "default-values.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("helm-lint+package", func(b *testing.B) {
		dest := b.TempDir()
		defer reportCPU(b)()
		for b.Loop() {
			for _, vals := range []map[string]any{nil, ciValues} {
				if res := action.NewLint().Run([]string{plain}, vals); len(res.Errors) > 0 {
					b.Fatal(res.Errors)
				}
			}
			p := action.NewPackage()
			p.Version = "1.4.0"
			p.Destination = dest
			if _, err := p.Run(plain, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("chartship-nolint", func(b *testing.B) {
		dest := b.TempDir()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := Build(ctx, plain, BuildOptions{Destination: dest, Version: VersionOptions{Version: "1.4.0"}, Lint: LintOptions{Skip: true}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("chartship-lint", func(b *testing.B) {
		dest := b.TempDir()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := Build(ctx, plain, BuildOptions{Destination: dest, Version: VersionOptions{Version: "1.4.0"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("chartship-git-lint", func(b *testing.B) {
		dest := b.TempDir()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := Build(ctx, r.dir, BuildOptions{Destination: dest}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU reports the CPU time (user+system, this process and its children
// such as git) per operation as "cpu-ns/op": on a shared, loaded machine it
// compares work done, where ns/op also measures the neighbours.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}
