package gitrepo

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/internal/helmindex"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/gittest"
)

// bareCatalog makes a bare repository that serves partial clones, seeded with files.
func bareCatalog(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	gittest.InitBare(t, dir)
	gittest.Git(t, dir, "config", "uploadpack.allowFilter", "true")
	gittest.Git(t, dir, "config", "uploadpack.allowAnySHA1InWant", "true")
	if files != nil {
		gittest.Seed(t, dir, files, "seed")
	}
}

func loadIndex(t testing.TB, data []byte) *repo.IndexFile {
	t.Helper()
	p := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, os.WriteFile(p, data, 0o644))
	i, err := repo.LoadIndexFile(p)
	require.NoError(t, err)
	return i
}

func emptyIndex(t testing.TB) string {
	t.Helper()
	i := repo.NewIndexFile()
	p := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, i.WriteFile(p, 0o644))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func show(t testing.TB, bare, path string) string {
	t.Helper()
	return gittest.Git(t, bare, "show", "main:"+path)
}

func head(t testing.TB, bare string) string {
	t.Helper()
	return strings.TrimSpace(gittest.Git(t, bare, "rev-parse", "refs/heads/main"))
}

func testGitOptions() Options {
	return Options{IndexURL: "https://example.github.io/catalog/", RetryDelay: 10 * time.Millisecond}
}

func TestGitPublishOverHTTPWithBasicAuth(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	srv := gittest.NewServer(t, gittest.WithBasicAuth("publisher", "s3cret-token"))
	url := srv.NewRepo(t, "catalog.git")
	bare := srv.Dir("catalog.git")
	gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
	gittest.Seed(t, bare, map[string]string{"index.yaml": emptyIndex(t), "old-1.0.0.tgz": "not really a chart"}, "seed")

	opts := testGitOptions()
	opts.Username, opts.Token = "publisher", "s3cret-token"
	c, err := Open("git+"+url, opts)
	require.NoError(t, err)
	assert.NotContains(t, c.String(), "s3cret")

	pkg := charttest.Package(t, t.TempDir(), "hello", "1.2.3")
	res, err := c.Publish(context.Background(), pkg)
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	assert.Equal(t, "https://example.github.io/catalog/hello-1.2.3.tgz", res.Ref)
	assert.Equal(t, pkg.Digest.String(), res.Digest)

	// The archive, its -meta/ folder and the entry are in the remote's branch.
	tgz, err := os.ReadFile(pkg.Path)
	require.NoError(t, err)
	assert.Equal(t, string(tgz), show(t, bare, "hello-1.2.3.tgz"))
	assert.Equal(t, "# hello\n", show(t, bare, "hello-1.2.3.tgz-meta/README.md"))
	assert.Contains(t, show(t, bare, "hello-1.2.3.tgz-meta/values.schema.json"), `"replicas"`)
	main := show(t, bare, "hello-1.2.3.tgz-meta/main.yaml")
	for _, want := range []string{"chartFile: hello-1.2.3.tgz", "digest: " + pkg.Digest.Encoded(), "dateCreated: ", "chartApiVersion: v2", "home: https://github.com/chartship/hello", "icon: https://example.com/icon.png", "application.giantswarm.io/team: atlas"} {
		assert.Contains(t, main, want)
	}
	idx := loadIndex(t, []byte(show(t, bare, "index.yaml")))
	cv, err := idx.Get("hello", "1.2.3")
	require.NoError(t, err)
	assert.Equal(t, pkg.Digest.Encoded(), cv.Digest)
	assert.Equal(t, []string{"https://example.github.io/catalog/hello-1.2.3.tgz"}, cv.URLs)
	assert.Equal(t, pkg.Metadata.Annotations, cv.Annotations)

	// Versions and Fetch read it back.
	vs, err := c.Versions(context.Background(), "hello")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.2.3"}, vs)
	got, err := c.Fetch(context.Background(), "hello", "1.2.3", t.TempDir())
	require.NoError(t, err)
	b, err := os.ReadFile(got)
	require.NoError(t, err)
	assert.Equal(t, tgz, b)
	_, err = c.Fetch(context.Background(), "hello", "9.9.9", t.TempDir())
	assert.ErrorIs(t, err, catalogdef.ErrNotFound)

	// The same bytes again: already published, no commit.
	before := head(t, bare)
	res, err = c.Publish(context.Background(), pkg)
	require.NoError(t, err)
	assert.Equal(t, catalogdef.AlreadyPublished, res.Status)
	assert.Equal(t, before, head(t, bare))

	// Other bytes under the same version: refused as a failed check, nothing written.
	other := charttest.Package(t, t.TempDir(), "hello", "1.2.3")
	other.Metadata.Description = "changed"
	other = charttest.PackageWith(t, "hello", "1.2.3", func(c *helmchart.Chart) { c.Metadata.Description = "changed" })
	_, err = c.Publish(context.Background(), other)
	require.Error(t, err)
	assert.ErrorIs(t, err, catalogdef.ErrConflict)
	assert.ErrorIs(t, err, errdef.ErrCheck)
	assert.Equal(t, before, head(t, bare))
}

func TestGitCheckoutIsCheap(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "catalog.git")
	files := map[string]string{"index.yaml": emptyIndex(t)}
	for i := range 20 {
		files[fmt.Sprintf("big-%d.tgz", i)] = strings.Repeat(fmt.Sprint(i), 100000)
		files[fmt.Sprintf("big-%d.tgz-meta/main.yaml", i)] = fmt.Sprint(i)
	}
	bareCatalog(t, bare, files)
	gittest.Seed(t, bare, map[string]string{"history.txt": "a second commit"}, "more history")
	g, err := Open("git+file://"+bare, testGitOptions())
	require.NoError(t, err)
	w, err := g.checkout(context.Background())
	require.NoError(t, err)
	defer w.Close()
	ents, err := os.ReadDir(w.Dir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	assert.Equal(t, "index.yaml", ents[0].Name(), "only index.yaml is read")
	objects := gittest.Git(t, w.Repo.Dir, "cat-file", "--batch-check", "--batch-all-objects")
	assert.Equal(t, 3, strings.Count(objects, "\n"), "the tip commit, its root tree and index.yaml: no archive, no sub-tree, no history:\n%s", objects)
	assert.NotContains(t, objects, " blob 100000")
}

func TestGitPublishRace(t *testing.T) {
	if testing.Short() {
		t.Skip("80 publishes")
	}
	srv := gittest.NewServer(t, gittest.WithBasicAuth("ci", "token"))
	url := srv.NewRepo(t, "catalog.git")
	bare := srv.Dir("catalog.git")
	gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
	gittest.Seed(t, bare, map[string]string{"index.yaml": emptyIndex(t)}, "seed")
	const publishers, charts = 8, 10
	pkgs := make([][]*chart.Package, publishers)
	for p := range publishers {
		for c := range charts {
			pkgs[p] = append(pkgs[p], charttest.Package(t, t.TempDir(), fmt.Sprintf("app-%d", c), fmt.Sprintf("1.%d.0", p)))
		}
	}
	opts := testGitOptions()
	opts.Username, opts.Token = "ci", "token"
	opts.Retries = 60
	opts.RetryDelay = 100 * time.Millisecond
	var rejected atomic.Int64
	opts.Logger = slog.New(countHandler{&rejected})
	var wg sync.WaitGroup
	errs := make([]error, publishers)
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Open("git+"+url, opts)
			if err != nil {
				errs[p] = err
				return
			}
			for _, pkg := range pkgs[p] {
				res, err := c.Publish(context.Background(), pkg)
				if err != nil {
					errs[p] = err
					return
				}
				if res.Status != catalogdef.Published {
					errs[p] = fmt.Errorf("%s: %s", pkg, res.Status)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d rejected pushes retried", rejected.Load())
	for p, err := range errs {
		require.NoError(t, err, "publisher %d", p)
	}
	idx := loadIndex(t, []byte(show(t, bare, "index.yaml")))
	n := 0
	for _, cvs := range idx.Entries {
		n += len(cvs)
	}
	assert.Equal(t, publishers*charts, n, "every entry is in the index")
	tree := gittest.Git(t, bare, "ls-tree", "--name-only", "main")
	for p := range publishers {
		for _, pkg := range pkgs[p] {
			assert.True(t, idx.Has(pkg.Name(), pkg.Version()), pkg.String())
			assert.Contains(t, tree, pkg.String()+".tgz\n")
		}
	}
}

func TestGitPublishBadInput(t *testing.T) {
	ctx := context.Background()
	pkg := charttest.Package(t, t.TempDir(), "hello", "1.0.0")

	t.Run("index.yaml is not YAML", func(t *testing.T) {
		bare := filepath.Join(t.TempDir(), "catalog.git")
		bareCatalog(t, bare, map[string]string{"index.yaml": "apiVersion: v1\nentries: [\n  {oops\n"})
		before := head(t, bare)
		c, err := Open("git+file://"+bare, testGitOptions())
		require.NoError(t, err)
		_, err = c.Publish(ctx, pkg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not a valid Helm index")
		assert.ErrorIs(t, err, errdef.ErrCheck)
		assert.Equal(t, before, head(t, bare), "remote untouched")
	})
	t.Run("duplicate entry", func(t *testing.T) {
		md := &helmchart.Metadata{APIVersion: "v2", Name: "hello", Version: "1.0.0"}
		first, err := helmindex.NewEntry(md, "https://example.github.io/catalog/", strings.Repeat("ab", 32), time.Now().UTC())
		require.NoError(t, err)
		i := repo.NewIndexFile()
		i.Entries["hello"] = repo.ChartVersions{first, first}
		p := filepath.Join(t.TempDir(), "index.yaml")
		require.NoError(t, i.WriteFile(p, 0o644))
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		bare := filepath.Join(t.TempDir(), "catalog.git")
		bareCatalog(t, bare, map[string]string{"index.yaml": string(data)})
		before := head(t, bare)
		c, err := Open("git+file://"+bare, testGitOptions())
		require.NoError(t, err)
		_, err = c.Publish(ctx, pkg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "more than once")
		assert.Equal(t, before, head(t, bare), "remote untouched")
	})
	t.Run("no index.yaml: one is created", func(t *testing.T) {
		bare := filepath.Join(t.TempDir(), "catalog.git")
		bareCatalog(t, bare, map[string]string{"README.md": "catalog\n"})
		c, err := Open("git+file://"+bare, testGitOptions())
		require.NoError(t, err)
		res, err := c.Publish(ctx, pkg)
		require.NoError(t, err)
		assert.Equal(t, catalogdef.Published, res.Status)
		assert.Contains(t, res.Note, "created")
		assert.True(t, loadIndex(t, []byte(show(t, bare, "index.yaml"))).Has("hello", "1.0.0"))
		assert.Equal(t, "catalog\n", show(t, bare, "README.md"))
	})
	t.Run("empty repository", func(t *testing.T) {
		bare := filepath.Join(t.TempDir(), "catalog.git")
		bareCatalog(t, bare, nil)
		c, err := Open("git+file://"+bare, testGitOptions())
		require.NoError(t, err)
		res, err := c.Publish(ctx, pkg)
		require.NoError(t, err)
		assert.Equal(t, catalogdef.Published, res.Status)
		assert.True(t, loadIndex(t, []byte(show(t, bare, "index.yaml"))).Has("hello", "1.0.0"))
	})
	t.Run("rejected credential", func(t *testing.T) {
		srv := gittest.NewServer(t, gittest.WithBasicAuth("ci", "right-token"))
		url := srv.NewRepo(t, "catalog.git")
		bare := srv.Dir("catalog.git")
		gittest.Seed(t, bare, map[string]string{"index.yaml": emptyIndex(t)}, "seed")
		before := head(t, bare)
		opts := testGitOptions()
		opts.Token = "wrong-token-value"
		c, err := Open("git+"+url, opts)
		require.NoError(t, err)
		_, err = c.Publish(ctx, pkg)
		require.Error(t, err)
		assert.ErrorIs(t, err, errdef.ErrExternal)
		assert.Contains(t, err.Error(), "refused the credentials")
		assert.NotContains(t, err.Error(), "wrong-token-value")
		assert.Equal(t, before, head(t, bare), "remote untouched")

		// A token in the URL is taken out of it and kept out of errors too.
		u := strings.Replace(url, "http://", "http://ci:also-wrong-secret@", 1)
		c, err = Open("git+"+u, testGitOptions())
		require.NoError(t, err)
		assert.NotContains(t, c.String(), "also-wrong-secret")
		_, err = c.Publish(ctx, pkg)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "also-wrong-secret")
	})
	t.Run("bad catalog reference", func(t *testing.T) {
		_, err := Open("git+ftp://example.com/x.git", testGitOptions())
		assert.ErrorIs(t, err, errdef.ErrUsage)
	})
}

func TestDefaultIndexURL(t *testing.T) {
	assert.Equal(t, "https://giantswarm.github.io/control-plane-catalog/", DefaultIndexURL("git+https://github.com/GiantSwarm/control-plane-catalog.git"))
	assert.Equal(t, "", DefaultIndexURL("git+https://gitlab.com/a/b.git"))
}

// countHandler counts log records that report a rejected push.
type countHandler struct{ n *atomic.Int64 }

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "push rejected") {
		h.n.Add(1)
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

// A server that serves partial clones but refuses tree filters still works.
func TestGitPublishServerRefusesTreeFilter(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "catalog.git")
	bareCatalog(t, bare, map[string]string{"index.yaml": emptyIndex(t), "a-1.0.0.tgz": "x"})
	gittest.Git(t, bare, "config", "uploadpackfilter.tree.allow", "false")
	c, err := Open("git+file://"+bare, testGitOptions())
	require.NoError(t, err)
	res, err := c.Publish(context.Background(), charttest.Package(t, t.TempDir(), "hello", "1.0.0"))
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	tree := gittest.Git(t, bare, "ls-tree", "--name-only", "main")
	assert.Contains(t, tree, "a-1.0.0.tgz\n")
	assert.Contains(t, tree, "hello-1.0.0.tgz\n")
}

// TestGitPublishFetchesNoSubtree publishes into a catalog of 30 -meta/ folders
// over HTTP with a user config that turns off sparse reachability (git < 2.27's
// default). The push must still not walk into the -meta/ folders it doesn't
// touch: in the partial clone each one would be fetched, one request at a time.
func TestGitPublishFetchesNoSubtree(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	require.NoError(t, os.WriteFile(cfg, []byte("[pack]\n\tuseSparse = false\n"), 0o644))
	t.Setenv("GIT_CONFIG_GLOBAL", cfg)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "catalog.git")
	bare := srv.Dir("catalog.git")
	gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
	files := map[string]string{"index.yaml": emptyIndex(t)}
	for k := range 30 {
		files[fmt.Sprintf("old-1.%d.0.tgz-meta/main.yaml", k)] = fmt.Sprintf("chartFile: old-1.%d.0.tgz\n", k)
	}
	gittest.Seed(t, bare, files, "seed")

	c, err := Open("git+"+url, testGitOptions())
	require.NoError(t, err)
	before := srv.Requests()
	res, err := c.Publish(context.Background(), charttest.Package(t, t.TempDir(), "hello", "1.2.3"))
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	// ls-remote, clone, the index blob, push: a handful of requests, not 30 more.
	assert.Less(t, srv.Requests()-before, int64(15))
	assert.Equal(t, "chartFile: old-1.7.0.tgz\n", show(t, bare, "old-1.7.0.tgz-meta/main.yaml"))
}
