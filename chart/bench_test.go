package chart

import (
	"context"
	"path/filepath"
	"testing"

	"helm.sh/helm/v3/pkg/action"
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
		for b.Loop() {
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
		for b.Loop() {
			if _, err := Build(ctx, plain, BuildOptions{Destination: dest, Version: VersionOptions{Version: "1.4.0"}, Lint: LintOptions{Skip: true}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("chartship-lint", func(b *testing.B) {
		dest := b.TempDir()
		for b.Loop() {
			if _, err := Build(ctx, plain, BuildOptions{Destination: dest, Version: VersionOptions{Version: "1.4.0"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("chartship-git-lint", func(b *testing.B) {
		dest := b.TempDir()
		for b.Loop() {
			if _, err := Build(ctx, r.dir, BuildOptions{Destination: dest}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
