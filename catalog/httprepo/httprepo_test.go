package httprepo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/errdef"
)

// A Helm repository as `helm repo index` writes it, served over HTTP.
func TestHTTPCatalog(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	pkg1 := charttest.Package(t, root, "hello", "1.0.0")
	charttest.Package(t, root, "hello", "1.1.0")
	i, err := repo.IndexDirectory(root, "") // relative urls
	require.NoError(t, err)
	i.SortEntries()
	require.NoError(t, i.WriteFile(filepath.Join(root, "index.yaml"), 0o644))
	srv := httptest.NewServer(http.StripPrefix("/charts/", http.FileServer(http.Dir(root))))
	defer srv.Close()

	c, err := Open(srv.URL+"/charts", nil)
	require.NoError(t, err)
	vs, err := c.Versions(ctx, "hello")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.1.0", "1.0.0"}, vs)

	got, err := c.Fetch(ctx, "hello", "1.0.0", t.TempDir())
	require.NoError(t, err)
	want, err := os.ReadFile(pkg1.Path)
	require.NoError(t, err)
	b, err := os.ReadFile(got)
	require.NoError(t, err)
	assert.Equal(t, want, b)

	_, err = c.Versions(ctx, "nope")
	assert.ErrorIs(t, err, catalogdef.ErrNotFound)
	_, err = c.Fetch(ctx, "hello", "3.0.0", t.TempDir())
	assert.ErrorIs(t, err, catalogdef.ErrNotFound)

	_, err = c.Publish(ctx, pkg1)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "read-only")

	// An archive that doesn't match its digest is refused.
	require.NoError(t, os.WriteFile(filepath.Join(root, "hello-1.1.0.tgz"), []byte("tampered"), 0o644))
	_, err = c.Fetch(ctx, "hello", "1.1.0", t.TempDir())
	assert.ErrorContains(t, err, "does not match")

	// No index at all.
	c, err = Open(srv.URL+"/elsewhere/", nil)
	require.NoError(t, err)
	_, err = c.Versions(ctx, "hello")
	assert.Error(t, err)
}

// An enormous index.yaml — here one that never ends — is refused once the
// limit is read, with what to do, instead of filling the memory.
func TestHTTPCatalogRefusesAnEnormousIndex(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := []byte("# an index that never ends\n")
		for r.Context().Err() == nil {
			n, err := w.Write(line)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, err := Open(srv.URL+"/", nil)
	require.NoError(t, err)
	c.maxIndex = 1 << 20
	_, err = c.Versions(context.Background(), "hello")
	require.ErrorIs(t, err, errdef.ErrCheck)
	assert.ErrorContains(t, err, "index.yaml is over the 1 MiB chartship reads: this HTTP catalog is read-only: prune it where it is published")
	assert.Less(t, sent.Load(), int64(64<<20), "the download stopped near the limit")
}
