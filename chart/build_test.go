package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/internal/errdef"
)

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestBuildTaggedThenDev is the acceptance path: v1.4.0 → hello-1.4.0.tgz; one
// commit later a dev version between 1.4.0 and 1.4.1.
func TestBuildTaggedThenDev(t *testing.T) {
	ctx := context.Background()
	r := helloRepo(t)
	r.git("tag", "v1.4.0")
	dest := t.TempDir()

	res, err := Build(ctx, r.dir, BuildOptions{Destination: dest})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dest, "hello-1.4.0.tgz"), res.Package.Path)
	assert.Equal(t, "1.4.0", res.Package.Version())
	assert.Equal(t, VersionFromTag, res.Version.Source)
	assert.Equal(t, "sha256:"+fileSHA(t, res.Package.Path), res.Package.Digest.String())
	assert.Empty(t, res.Warnings, "hello lints clean")

	r.write("templates/extra-configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\n")
	r.commit("add a configmap")
	res, err = Build(ctx, r.dir, BuildOptions{Destination: dest})
	require.NoError(t, err)
	v := res.Package.Version()
	assert.Regexp(t, `^1\.4\.1-r`+BranchChecksum("main")+`t\d{14}h[0-9a-f]{7}$`, v)
	assert.Equal(t, filepath.Join(dest, "hello-"+v+".tgz"), res.Package.Path)
	sv := semver.MustParse(v)
	assert.True(t, sv.GreaterThan(semver.MustParse("1.4.0")) && sv.LessThan(semver.MustParse("1.4.1")), v)
}

// TestBuildReproducible packages the same source twice, at different wall-clock
// times, with different file mtimes and modes on disk: same bytes.
func TestBuildReproducible(t *testing.T) {
	ctx := context.Background()
	r := helloRepo(t)
	r.git("tag", "v1.4.0")

	res1, err := Build(ctx, r.dir, BuildOptions{Destination: t.TempDir()})
	require.NoError(t, err)

	time.Sleep(1100 * time.Millisecond) // the wall clock moves to another second
	later := time.Now().Add(48 * time.Hour)
	require.NoError(t, filepath.Walk(r.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || strings.Contains(p, "/.git") {
			return err
		}
		return os.Chtimes(p, later, later)
	}))
	require.NoError(t, os.Chmod(filepath.Join(r.dir, "values.yaml"), 0o600))

	res2, err := Build(ctx, r.dir, BuildOptions{Destination: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, fileSHA(t, res1.Package.Path), fileSHA(t, res2.Package.Path))
	assert.Equal(t, res1.Package.Digest, res2.Package.Digest)

	// SOURCE_DATE_EPOCH changes the mtimes, and only them.
	res3, err := Build(ctx, r.dir, BuildOptions{Destination: t.TempDir(), SourceDate: time.Unix(1700000000, 0)})
	require.NoError(t, err)
	assert.NotEqual(t, res1.Package.Digest, res3.Package.Digest)
	for _, h := range tarHeaders(t, res3.Package.Path) {
		assert.Equal(t, int64(1700000000), h.ModTime.Unix())
	}

	// Without git, with --version, it is reproducible too.
	plain := filepath.Join(t.TempDir(), "hello")
	copyDir(t, filepath.Join(testCharts(t), "hello"), plain)
	a, err := Build(ctx, plain, BuildOptions{Destination: t.TempDir(), Version: VersionOptions{Version: "1.4.0"}})
	require.NoError(t, err)
	b, err := Build(ctx, plain, BuildOptions{Destination: t.TempDir(), Version: VersionOptions{Version: "1.4.0"}})
	require.NoError(t, err)
	assert.Equal(t, a.Package.Digest, b.Package.Digest)
}

// TestBuildDestinationInsideChart: with the chart at the repository root, the
// default build/ lies inside the chart; earlier archives must not end up in
// the next one.
func TestBuildDestinationInsideChart(t *testing.T) {
	r := helloRepo(t)
	r.git("tag", "v1.4.0")
	dest := filepath.Join(r.dir, "build")
	res1, err := Build(context.Background(), r.dir, BuildOptions{Destination: dest})
	require.NoError(t, err)
	res2, err := Build(context.Background(), r.dir, BuildOptions{Destination: dest})
	require.NoError(t, err)
	assert.Equal(t, res1.Package.Digest, res2.Package.Digest)
	for _, h := range tarHeaders(t, res2.Package.Path) {
		assert.False(t, strings.HasPrefix(h.Name, "hello/build/") || strings.HasPrefix(h.Name, "hello/.git/"), h.Name)
	}
}

func tarHeaders(t testing.TB, path string) []*tar.Header {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	var hs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		hs = append(hs, h)
	}
	return hs
}

func tarFile(t testing.TB, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "%s not in %s", name, path)
		if h.Name == name {
			data, err := io.ReadAll(tr)
			require.NoError(t, err)
			return data
		}
	}
}

// TestBuildArchiveLayout: Helm loads the archive, its Chart.yaml is the stamped
// one (what `helm show chart` prints), entries are sorted with fixed metadata.
func TestBuildArchiveLayout(t *testing.T) {
	r := helloRepo(t)
	r.git("tag", "v1.4.0")
	res, err := Build(context.Background(), r.dir, BuildOptions{
		Destination:    t.TempDir(),
		AppVersion:     AppVersionFromChart,
		CatalogBaseURL: "https://example.github.io/catalog",
	})
	require.NoError(t, err)
	path := res.Package.Path

	c, err := loader.LoadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "1.4.0", c.Metadata.Version)
	assert.Equal(t, "1.4.0", c.Metadata.AppVersion)
	assert.Len(t, c.Templates, 6)
	require.NotNil(t, c.Schema)
	meta := "https://example.github.io/catalog/hello-1.4.0.tgz-meta/"
	assert.Equal(t, meta+"main.yaml", c.Metadata.Annotations[AnnotationMetadata])
	assert.Equal(t, meta+"README.md", c.Metadata.Annotations[AnnotationReadme])
	assert.Equal(t, meta+"values.schema.json", c.Metadata.Annotations[AnnotationValuesSchema])
	assert.Equal(t, "chartship", c.Metadata.Annotations["application.giantswarm.io/team"], "existing annotations stay")

	// `helm show chart` prints exactly the Chart.yaml in the archive.
	shown, err := action.NewShow(action.ShowChart).Run(path)
	require.NoError(t, err)
	assert.Equal(t, shown, string(tarFile(t, path, "hello/Chart.yaml"))+"\n", "helm show chart adds one newline")
	show, err := yaml.Marshal(c.Metadata)
	require.NoError(t, err)
	pkgMeta, err := yaml.Marshal(res.Package.Metadata)
	require.NoError(t, err)
	assert.Equal(t, string(show), string(pkgMeta))

	hs := tarHeaders(t, path)
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
		assert.Equal(t, byte(tar.TypeReg), h.Typeflag, h.Name)
		assert.Equal(t, int64(0o644), h.Mode, h.Name)
		assert.Zero(t, h.Uid)
		assert.Zero(t, h.Gid)
		assert.Empty(t, h.Uname)
		assert.Empty(t, h.Gname)
		assert.Equal(t, r.tick.Unix(), h.ModTime.Unix(), "mtime is the commit time")
	}
	assert.Equal(t, "hello/Chart.yaml", names[0])
	assert.True(t, sort.StringsAreSorted(names[1:]), names)
	assert.Contains(t, names, "hello/ci/default-values.yaml")
	assert.Contains(t, names, "hello/templates/tests/test-connection.yaml")
	assert.Contains(t, names, "hello/.helmignore")

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.True(t, zr.Header.ModTime.IsZero(), "gzip header has no time")
	assert.Empty(t, zr.Header.Name)

	// Open reads it back the same.
	p, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, res.Package.Digest, p.Digest)
	assert.Equal(t, res.Package.Size, p.Size)
}

func TestBuildAppVersion(t *testing.T) {
	r := helloRepo(t)
	for in, want := range map[string]string{"": "1.27.3", AppVersionFromChart: "2.0.0", "v9.9.9": "v9.9.9"} {
		res, err := Build(context.Background(), r.dir, BuildOptions{Destination: t.TempDir(), Version: VersionOptions{Version: "2.0.0"}, AppVersion: in})
		require.NoError(t, err)
		assert.Equal(t, want, res.Package.Metadata.AppVersion, "--app-version=%q", in)
	}
}

func TestBuildFindsChartUnderHelm(t *testing.T) {
	r := newRepo(t, "hello-app")
	copyDir(t, filepath.Join(testCharts(t), "hello"), filepath.Join(r.dir, "helm", "hello"))
	r.write("main.go", "package main\n")
	r.commit("app with chart")
	r.git("tag", "v0.3.0")
	res, err := Build(context.Background(), r.dir, BuildOptions{Destination: t.TempDir()})
	require.NoError(t, err, "hello in hello-app matches (-app stripped)")
	assert.Equal(t, filepath.Join(r.dir, "helm", "hello"), res.ChartDir)
	assert.Equal(t, "0.3.0", res.Package.Version())

	copyDir(t, filepath.Join(testCharts(t), "hello"), filepath.Join(r.dir, "helm", "hello2"))
	_, err = Build(context.Background(), r.dir, BuildOptions{Destination: t.TempDir()})
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "holds 2 charts (hello, hello2)")
}

func TestBuildNameCheck(t *testing.T) {
	ctx := context.Background()
	opts := func() BuildOptions {
		return BuildOptions{Destination: t.TempDir(), Version: VersionOptions{Version: "1.0.0"}}
	}
	// Repository "hello-app" holding chart "hello" (and the reverse) pass.
	for _, repo := range []string{"hello", "hello-app"} {
		r := newRepo(t, repo)
		copyDir(t, filepath.Join(testCharts(t), "hello"), r.dir)
		_, err := Build(ctx, r.dir, opts())
		require.NoError(t, err, repo)
	}
	r := newRepo(t, "other")
	copyDir(t, filepath.Join(testCharts(t), "hello"), r.dir)
	_, err := Build(ctx, r.dir, opts())
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), filepath.Join(r.dir, "Chart.yaml"))
	assert.Contains(t, err.Error(), "--allow-name-mismatch")

	o := opts()
	o.Name.AllowMismatch = true
	_, err = Build(ctx, r.dir, o)
	require.NoError(t, err)
	o = opts()
	o.Name.RepoName = "giantswarm/hello"
	_, err = Build(ctx, r.dir, o)
	require.NoError(t, err, "CI's repository name wins over the checkout directory")
}

// TestBuildBadInput: every bad input fails with one line naming the file and
// what to do, the right error kind, and writes nothing.
func TestBuildBadInput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) // on a copy of hello in repository "hello"
		opts  func(o *BuildOptions)
		kind  error
		inMsg []string
	}{
		{name: "missing Chart.yaml", setup: func(t *testing.T, dir string) { overlay(t, "missing-chart-yaml", dir) },
			kind: errdef.ErrUsage, inMsg: []string{"Chart.yaml", "pass the chart directory"}},
		{name: "malformed Chart.yaml", setup: func(t *testing.T, dir string) { overlay(t, "malformed-chart-yaml", dir) },
			kind: errdef.ErrUsage, inMsg: []string{"/hello/Chart.yaml is not a valid Chart.yaml", "fix the YAML"}},
		{name: "bad semver", opts: func(o *BuildOptions) { o.Version.Version = "1.4" },
			kind: errdef.ErrUsage, inMsg: []string{`"1.4"`, "semantic version"}},
		{name: "build metadata", opts: func(o *BuildOptions) { o.Version.Version = "1.4.0+sha.abc" },
			kind: errdef.ErrUsage, inMsg: []string{"--allow-build-metadata"}},
		{name: "name mismatch", setup: func(t *testing.T, dir string) { overlay(t, "name-mismatch", dir) },
			kind: errdef.ErrUsage, inMsg: []string{"Chart.yaml", `"goodbye"`, "--allow-name-mismatch"}},
		{name: "symlink leaving the chart", setup: func(t *testing.T, dir string) {
			secret := filepath.Join(t.TempDir(), "secret.yaml")
			require.NoError(t, os.WriteFile(secret, []byte("password: hunter2\n"), 0o644))
			require.NoError(t, os.Symlink(secret, filepath.Join(dir, "templates", "leak.yaml")))
		}, kind: errdef.ErrUsage, inMsg: []string{"templates/leak.yaml", "outside the chart directory"}},
		{name: "relative symlink leaving the chart", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "..", "outside.txt"), []byte("x"), 0o644))
			require.NoError(t, os.Symlink("../../outside.txt", filepath.Join(dir, "files", "outside.txt")))
		}, kind: errdef.ErrUsage, inMsg: []string{"files/outside.txt", "outside the chart directory"}},
		{name: "symlink loop", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.Symlink("..", filepath.Join(dir, "files", "loop")))
		}, kind: errdef.ErrUsage, inMsg: []string{"files/loop", "symlink loop"}},
		{name: "malformed ci values", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "ci", "broken-values.yaml"), []byte("replicaCount: [1\n"), 0o644))
		}, kind: errdef.ErrUsage, inMsg: []string{"ci/broken-values.yaml", "fix the YAML"}},
		{name: "file over the size limit", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "files", "big.bin"), make([]byte, DefaultMaxFileSize+1), 0o644))
		}, kind: errdef.ErrUsage, inMsg: []string{"files/big.bin", "limit", ".helmignore"}},
		{name: "values failing the schema", setup: func(t *testing.T, dir string) { overlay(t, "schema-fails", dir) },
			kind: errdef.ErrCheck, inMsg: []string{"ci/wrong-type-values.yaml does not match values.schema.json", "replicaCount"}},
		{name: "values.yaml failing the schema", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("replicaCount: 1\nimage: {registry: r, repository: x}\ngreeting: hi\nservice: {type: Sideways, port: 80}\n"), 0o644))
		}, kind: errdef.ErrCheck, inMsg: []string{"/values.yaml does not match values.schema.json", "/service/type"}},
		{name: "schema that does not compile", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "values.schema.json"), []byte(`{"type": "object", "properties": {"replicaCount": {"type": 5}}}`), 0o644))
		}, kind: errdef.ErrUsage, inMsg: []string{"/values.schema.json is not a usable JSON schema", "fix the schema"}},
		{name: "schema that is not JSON", setup: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "values.schema.json"), []byte(`{"type": "object",`), 0o644))
		}, kind: errdef.ErrUsage, inMsg: []string{"/values.schema.json is not a usable JSON schema"}},
		{name: "lint error", setup: func(t *testing.T, dir string) { overlay(t, "lint-error", dir) },
			kind: errdef.ErrCheck, inMsg: []string{"lint failed", "templates/broken.yaml", "helm lint"}},
		{name: "lint warning with strict", setup: func(t *testing.T, dir string) { overlay(t, "lint-warning", dir) },
			opts: func(o *BuildOptions) { o.Lint.Strict = true },
			kind: errdef.ErrCheck, inMsg: []string{"deprecated", "--strict"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t, "hello")
			copyDir(t, filepath.Join(testCharts(t), "hello"), r.dir)
			require.NoError(t, os.MkdirAll(filepath.Join(r.dir, "files"), 0o755))
			if tc.setup != nil {
				tc.setup(t, r.dir)
			}
			dest := filepath.Join(t.TempDir(), "build")
			o := BuildOptions{Destination: dest, Version: VersionOptions{Version: "1.4.0"}}
			if tc.opts != nil {
				tc.opts(&o)
			}
			res, err := Build(context.Background(), r.dir, o)
			require.Error(t, err)
			assert.Nil(t, res)
			assert.ErrorIs(t, err, tc.kind)
			msg := err.Error()
			assert.NotContains(t, msg, "\n", "one line")
			for _, s := range tc.inMsg {
				assert.Contains(t, msg, s)
			}
			assert.Empty(t, filesUnder(t, dest), "nothing written")
		})
	}
}

// TestBuildSymlinkInsideChart: a symlink to a file inside the chart is packaged
// as a regular file with the target's content.
func TestBuildSymlinkInsideChart(t *testing.T) {
	r := newRepo(t, "hello")
	copyDir(t, filepath.Join(testCharts(t), "hello"), r.dir)
	require.NoError(t, os.Symlink("../README.md", filepath.Join(r.dir, "templates", "README.txt")))
	res, err := Build(context.Background(), r.dir, BuildOptions{Destination: t.TempDir(), Version: VersionOptions{Version: "1.0.0"}})
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(r.dir, "README.md"))
	require.NoError(t, err)
	assert.Equal(t, string(readme), string(tarFile(t, res.Package.Path, "hello/templates/README.txt")))
}

func TestBuildLintWarningWithoutStrict(t *testing.T) {
	r := newRepo(t, "hello")
	copyDir(t, filepath.Join(testCharts(t), "hello"), r.dir)
	overlay(t, "lint-warning", r.dir)
	res, err := Build(context.Background(), r.dir, BuildOptions{Destination: t.TempDir(), Version: VersionOptions{Version: "1.4.0"}})
	require.NoError(t, err)
	require.NotEmpty(t, res.Warnings)
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "deprecated")
}

// TestBuildLocalDependency builds a file:// dependency offline (no repositories
// configured, HELM_* paths in a temp dir), expands it in the archive like Helm,
// and stays reproducible although Helm's dependency tarball is not.
func TestBuildLocalDependency(t *testing.T) {
	helmHome := t.TempDir()
	t.Setenv("HELM_CONFIG_HOME", filepath.Join(helmHome, "config"))
	t.Setenv("HELM_CACHE_HOME", filepath.Join(helmHome, "cache"))
	t.Setenv("HELM_DATA_HOME", filepath.Join(helmHome, "data"))
	r := newRepo(t, "charts")
	copyDir(t, filepath.Join(testCharts(t), "hello-stack"), filepath.Join(r.dir, "hello-stack"))
	copyDir(t, filepath.Join(testCharts(t), "hello-common"), filepath.Join(r.dir, "hello-common"))
	r.commit("stack")
	r.git("tag", "v0.2.0")

	o := BuildOptions{Destination: t.TempDir(), Name: NameOptions{RepoName: "hello-stack"}}
	res, err := Build(context.Background(), filepath.Join(r.dir, "hello-stack"), o)
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(r.dir, "hello-stack", "Chart.lock"), "like helm dependency build")
	c, err := loader.LoadFile(res.Package.Path)
	require.NoError(t, err)
	require.Len(t, c.Dependencies(), 1)
	assert.Equal(t, "hello-common", c.Dependencies()[0].Name())
	assert.Equal(t, "1.0.0", c.Dependencies()[0].Metadata.Version)
	names := map[string]bool{}
	for _, h := range tarHeaders(t, res.Package.Path) {
		names[h.Name] = true
	}
	assert.True(t, names["hello-stack/charts/hello-common/Chart.yaml"], "dependency expanded like helm package: %v", names)
	assert.True(t, names["hello-stack/Chart.lock"])

	time.Sleep(1100 * time.Millisecond) // the rebuilt dependency tarball gets another mtime
	o.Destination = t.TempDir()
	res2, err := Build(context.Background(), filepath.Join(r.dir, "hello-stack"), o)
	require.NoError(t, err)
	assert.Equal(t, res.Package.Digest, res2.Package.Digest)

	// Without a committed Chart.lock, Helm writes a new one stamped with the wall
	// clock; the package stays the same.
	require.NoError(t, os.Remove(filepath.Join(r.dir, "hello-stack", "Chart.lock")))
	o.Destination = t.TempDir()
	res3, err := Build(context.Background(), filepath.Join(r.dir, "hello-stack"), o)
	require.NoError(t, err)
	assert.Equal(t, res.Package.Digest, res3.Package.Digest)

	// A missing local dependency is bad input.
	require.NoError(t, os.RemoveAll(filepath.Join(r.dir, "hello-common")))
	_, err = Build(context.Background(), filepath.Join(r.dir, "hello-stack"), BuildOptions{Destination: t.TempDir(), Name: NameOptions{RepoName: "hello-stack"}})
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "dependencies")
}

// TestBuildRepoDependency resolves a dependency from a real HTTP chart
// repository (index.yaml + archives over HTTP) through Helm's downloader.
func TestBuildRepoDependency(t *testing.T) {
	helmHome := t.TempDir()
	t.Setenv("HELM_CONFIG_HOME", filepath.Join(helmHome, "config"))
	t.Setenv("HELM_CACHE_HOME", filepath.Join(helmHome, "cache"))
	t.Setenv("HELM_DATA_HOME", filepath.Join(helmHome, "data"))
	ctx := context.Background()

	repoDir := t.TempDir()
	_, err := Build(ctx, filepath.Join(testCharts(t), "hello-common"), BuildOptions{Destination: repoDir, Version: VersionOptions{Version: "1.2.0"}, Name: NameOptions{AllowMismatch: true}})
	require.NoError(t, err)
	srv := httptest.NewServer(http.FileServer(http.Dir(repoDir)))
	idx, err := repo.IndexDirectory(repoDir, srv.URL)
	require.NoError(t, err)
	require.NoError(t, idx.WriteFile(filepath.Join(repoDir, "index.yaml"), 0o644))

	r := newRepo(t, "hello-stack")
	copyDir(t, filepath.Join(testCharts(t), "hello-stack"), r.dir)
	chartYAML := filepath.Join(r.dir, "Chart.yaml")
	data, err := os.ReadFile(chartYAML)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(chartYAML, bytes.Replace(data, []byte(`"file://../hello-common"`), []byte(srv.URL), 1), 0o644))
	r.commit("stack from a repository")

	res, err := Build(ctx, r.dir, BuildOptions{Destination: t.TempDir()})
	require.NoError(t, err)
	c, err := loader.LoadFile(res.Package.Path)
	require.NoError(t, err)
	require.Len(t, c.Dependencies(), 1)
	assert.Equal(t, "1.2.0", c.Dependencies()[0].Metadata.Version)
	require.NotNil(t, c.Lock)
	assert.Equal(t, srv.URL, c.Lock.Dependencies[0].Repository)

	// Like `helm dependency build`, building from Chart.lock needs the
	// repository added.
	_, err = Build(ctx, r.dir, BuildOptions{Destination: t.TempDir()})
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "helm repo add")

	// The repository is gone: an external error (exit 3), nothing written.
	srv.Close()
	require.NoError(t, os.RemoveAll(filepath.Join(r.dir, "charts")))
	require.NoError(t, os.Remove(filepath.Join(r.dir, "Chart.lock")))
	require.NoError(t, os.RemoveAll(filepath.Join(helmHome, "cache")))
	dest := t.TempDir()
	_, err = Build(ctx, r.dir, BuildOptions{Destination: dest})
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.Contains(t, err.Error(), "building dependencies")
	assert.Empty(t, filesUnder(t, dest))
}

func TestBuildWarnsOnDirtyTree(t *testing.T) {
	r := helloRepo(t)
	r.write("templates/NOTES.txt", "changed\n")
	var logs bytes.Buffer
	res, err := Build(context.Background(), r.dir, BuildOptions{Destination: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err, "a dev build from a dirty tree is allowed")
	assert.True(t, res.Version.Dirty)
	assert.Contains(t, logs.String(), "uncommitted changes")
}

// TestBuildRefusesDirtyRelease: on a release tag, uncommitted changes in the chart
// would ship as the release: refused unless AllowDirty. The destination inside the
// chart and built dependencies don't count.
func TestBuildRefusesDirtyRelease(t *testing.T) {
	r := helloRepo(t)
	r.git("tag", "v1.4.0")
	// a second build into a destination inside the chart is not "dirty"
	dest := filepath.Join(r.dir, "build")
	_, err := Build(context.Background(), r.dir, BuildOptions{Destination: dest})
	require.NoError(t, err)
	_, err = Build(context.Background(), r.dir, BuildOptions{Destination: dest})
	require.NoError(t, err)

	r.write("templates/NOTES.txt", "changed\n")
	out := t.TempDir()
	_, err = Build(context.Background(), r.dir, BuildOptions{Destination: out})
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "release tag v1.4.0")
	assert.Contains(t, err.Error(), "templates/NOTES.txt")
	assert.Contains(t, err.Error(), "--allow-dirty")
	assert.Empty(t, filesUnder(t, out), "nothing written")

	res, err := Build(context.Background(), r.dir, BuildOptions{Destination: out, AllowDirty: true})
	require.NoError(t, err)
	assert.Equal(t, "1.4.0", res.Package.Version())
}

// TestBuildMalformedReleaseTag: HEAD tagged v1.2 is no dev build: it fails naming the tag.
func TestBuildMalformedReleaseTag(t *testing.T) {
	r := helloRepo(t)
	r.git("tag", "v1.2")
	r.git("tag", "very-old") // not release-looking: ignored
	out := t.TempDir()
	_, err := Build(context.Background(), r.dir, BuildOptions{Destination: out})
	require.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "HEAD is tagged v1.2")
	assert.Contains(t, err.Error(), "git tag v1.2.0")
	assert.Empty(t, filesUnder(t, out))

	r.git("tag", "v1.2.0") // a valid one beside it wins
	res, err := Build(context.Background(), r.dir, BuildOptions{Destination: out})
	require.NoError(t, err)
	assert.Equal(t, "1.2.0", res.Package.Version())
}

// TestBuildSaysTagOverridesChartVersion: Chart.yaml's version differing from the tag's is said.
func TestBuildSaysTagOverridesChartVersion(t *testing.T) {
	r := helloRepo(t)
	r.git("tag", "v7.0.0")
	var logs bytes.Buffer
	res, err := Build(context.Background(), r.dir, BuildOptions{Destination: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	assert.Equal(t, "7.0.0", res.Package.Version())
	assert.Contains(t, logs.String(), "the tag v7.0.0 says 7.0.0: packaging 7.0.0 (the tag wins)")
}
