package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/registrytest"
)

// ociTestPackage packages a small chart with helm's own chartutil. extra makes
// the bytes differ for the same name and version.
func ociTestPackage(t testing.TB, dir, name, version, extra string) *chart.Package {
	t.Helper()
	dir = filepath.Join(dir, fmt.Sprintf("%s-%s-%d", name, version, time.Now().UnixNano()))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	c := &helmchart.Chart{
		Metadata: &helmchart.Metadata{
			APIVersion:  "v2",
			Name:        name,
			Version:     version,
			AppVersion:  "1.0.0",
			Description: "A chart for chartship's OCI tests",
			Home:        "https://example.com/" + name,
			Sources:     []string{"https://github.com/example/" + name, "https://mirror.example.com/" + name},
			Maintainers: []*helmchart.Maintainer{{Name: "Ada", Email: "ada@example.com"}, {Name: "Bob"}},
			Annotations: map[string]string{"example.com/team": "platform", "org.opencontainers.image.title": "spoofed"},
		},
		Templates: []*helmchart.File{{Name: "templates/configmap.yaml", Data: []byte(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  extra: " + fmt.Sprintf("%q", extra) + "\n")}},
		Values: map[string]any{"replicas": 1},
	}
	path, err := chartutil.Save(c, dir)
	require.NoError(t, err)
	pkg, err := chart.Open(path)
	require.NoError(t, err)
	return pkg
}

// ociSign writes a provenance file beside the package. Helm doesn't check it on
// push or pull; its bytes travel as the .prov layer.
func ociSign(t testing.TB, pkg *chart.Package) *chart.Package {
	t.Helper()
	prov := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: " + pkg.Name() + "\n...\nfiles:\n  " + filepath.Base(pkg.Path) + ": " + pkg.Digest.String() + "\n-----BEGIN PGP SIGNATURE-----\n\nnot-a-real-signature\n-----END PGP SIGNATURE-----\n"
	require.NoError(t, os.WriteFile(pkg.Path+".prov", []byte(prov), 0o644))
	p, err := chart.Open(pkg.Path)
	require.NoError(t, err)
	require.NotEmpty(t, p.ProvPath)
	return p
}

func ociOpen(t testing.TB, ref string, o oci.Options, log *slog.Logger) *oci.Catalog {
	t.Helper()
	o.Logger = log
	c, err := oci.Open(ref, o)
	require.NoError(t, err)
	return c
}

func ociWrites(reqs []registrytest.Request) []registrytest.Request {
	var out []registrytest.Request
	for _, r := range reqs {
		if r.IsWrite() {
			out = append(out, r)
		}
	}
	return out
}

func ociDescribe(reqs []registrytest.Request) string {
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "%s %s -> %d\n", r.Method, r.Path, r.Status)
	}
	return b.String()
}

// ociManifest reads the manifest a tag points at, straight from the registry API.
func ociManifest(t testing.TB, reg *registrytest.Registry, repo, tag string) (ocispec.Manifest, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, reg.URL+"/v2/"+repo+"/manifests/"+tag, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest)
	resp, err := reg.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m ocispec.Manifest
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	}
	return m, resp.StatusCode
}

func TestOCIPublishListFetch(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	dir := t.TempDir()
	cat := ociOpen(t, reg.Ref("charts"), oci.Options{PlainHTTP: true}, nil)
	assert.Equal(t, reg.Ref("charts"), cat.String())

	pkg := ociSign(t, ociTestPackage(t, dir, "hello", "1.2.3+build.7", "a"))
	reg.ResetRequests()
	res, err := cat.Publish(ctx, pkg)
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	assert.Equal(t, reg.Host+"/charts/hello:1.2.3_build.7", res.Ref)
	assert.Equal(t, pkg.Digest.String(), res.Digest)
	// one GET of the tag, POST+PUT per blob (config, chart, prov), the tag looked
	// at again, one manifest PUT, one read-back (tagwrite.go)
	assert.Len(t, reg.RegistryRequests(), 10, ociDescribe(reg.RegistryRequests()))

	m, status := ociManifest(t, reg, "charts/hello", "1.2.3_build.7")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, oci.ConfigMediaType, m.Config.MediaType)
	require.Len(t, m.Layers, 2)
	var types []string
	for _, l := range m.Layers {
		types = append(types, l.MediaType)
	}
	assert.ElementsMatch(t, []string{oci.ChartLayerMediaType, oci.ProvLayerMediaType}, types)
	assert.Equal(t, "hello", m.Annotations[ocispec.AnnotationTitle])
	assert.Equal(t, "1.2.3+build.7", m.Annotations[ocispec.AnnotationVersion])
	assert.Equal(t, "Ada (ada@example.com), Bob", m.Annotations[ocispec.AnnotationAuthors])
	assert.Equal(t, "https://github.com/example/hello", m.Annotations[ocispec.AnnotationSource])
	assert.Equal(t, "platform", m.Annotations["example.com/team"])

	// the same bytes again: one request, nothing written
	reg.ResetRequests()
	res, err = cat.Publish(ctx, pkg)
	require.NoError(t, err)
	assert.Equal(t, catalogdef.AlreadyPublished, res.Status)
	assert.Len(t, reg.RegistryRequests(), 1, ociDescribe(reg.RegistryRequests()))
	assert.Empty(t, ociWrites(reg.Requests()))

	for _, v := range []string{"0.9.0", "1.10.0-rc.1", "1.10.0"} {
		_, err := cat.Publish(ctx, ociTestPackage(t, dir, "hello", v, v))
		require.NoError(t, err)
	}
	versions, err := cat.Versions(ctx, "hello")
	require.NoError(t, err)
	assert.Equal(t, []string{"0.9.0", "1.2.3+build.7", "1.10.0-rc.1", "1.10.0"}, versions)

	out := t.TempDir()
	path, err := cat.Fetch(ctx, "hello", "1.2.3+build.7", out)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(out, "hello-1.2.3+build.7.tgz"), path)
	got, err := chart.Open(path)
	require.NoError(t, err)
	assert.Equal(t, pkg.Digest, got.Digest)
	assert.NotEmpty(t, got.ProvPath)
	want, _ := os.ReadFile(pkg.ProvPath)
	gotProv, _ := os.ReadFile(got.ProvPath)
	assert.Equal(t, want, gotProv)

	_, err = cat.Fetch(ctx, "hello", "9.9.9", out)
	assert.ErrorIs(t, err, catalogdef.ErrNotFound)
	_, err = cat.Versions(ctx, "nothing-here")
	assert.ErrorIs(t, err, catalogdef.ErrNotFound)
}

func TestOCIFreshPushRequests(t *testing.T) {
	reg := registrytest.New(t)
	cat := ociOpen(t, reg.Ref("ns/deeper"), oci.Options{PlainHTTP: true}, nil)
	pkg := ociTestPackage(t, t.TempDir(), "plain", "0.1.0", "")
	reg.ResetRequests()
	res, err := cat.Publish(context.Background(), pkg)
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	reqs := reg.RegistryRequests()
	assert.LessOrEqual(t, len(reqs), 8, ociDescribe(reqs)) // 2 GETs, 2×(POST+PUT), PUT, read-back
	_, status := ociManifest(t, reg, "ns/deeper/plain", "0.1.0")
	assert.Equal(t, http.StatusOK, status)
}

func TestOCIImmutability(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	dir := t.TempDir()
	cat := ociOpen(t, reg.Ref("charts"), oci.Options{PlainHTTP: true}, nil)
	first := ociTestPackage(t, dir, "app", "2.0.0", "one")
	_, err := cat.Publish(ctx, first)
	require.NoError(t, err)
	before, _ := ociManifest(t, reg, "charts/app", "2.0.0")

	other := ociTestPackage(t, dir, "app", "2.0.0", "two")
	reg.ResetRequests()
	_, err = cat.Publish(ctx, other)
	require.Error(t, err)
	assert.ErrorIs(t, err, catalogdef.ErrConflict)
	assert.ErrorIs(t, err, errdef.ErrCheck)
	assert.Contains(t, err.Error(), first.Digest.String())
	assert.Contains(t, err.Error(), other.Digest.String())
	assert.Empty(t, ociWrites(reg.Requests()), "a conflict must write nothing")
	after, _ := ociManifest(t, reg, "charts/app", "2.0.0")
	assert.Equal(t, before, after)

	// --force never touches a release, and says what it is for
	forced := ociOpen(t, reg.Ref("charts"), oci.Options{PlainHTTP: true, Force: true}, nil)
	_, err = forced.Publish(ctx, other)
	require.ErrorIs(t, err, catalogdef.ErrConflict)
	assert.Contains(t, err.Error(), "--force only overwrites dev builds")

	// …but overwrites a pre-release, and says so
	dev1 := ociTestPackage(t, dir, "app", "2.1.0-dev.1", "one")
	_, err = cat.Publish(ctx, dev1)
	require.NoError(t, err)
	dev1b := ociTestPackage(t, dir, "app", "2.1.0-dev.1", "two")
	_, err = cat.Publish(ctx, dev1b)
	require.ErrorIs(t, err, catalogdef.ErrConflict)
	res, err := forced.Publish(ctx, dev1b)
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	assert.Contains(t, res.Note, "--force")
	assert.Contains(t, res.Note, "pre-release")
	out, err := cat.Fetch(ctx, "app", "2.1.0-dev.1", t.TempDir())
	require.NoError(t, err)
	got, err := chart.Open(out)
	require.NoError(t, err)
	assert.Equal(t, dev1b.Digest, got.Digest)
}

func TestOCIOpenRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		opts oci.Options
		want string
	}{
		{"oci://", oci.Options{}, "no registry"},
		{"oci://user:hunter2@registry.example.com/charts", oci.Options{}, "credentials don't belong"},
		{"oci://registry.example.com/Charts", oci.Options{}, "not a registry namespace"},
		{"oci://registry.example.com/charts", oci.Options{Username: "u"}, "give both"},
		{"oci://registry.example.com/charts", oci.Options{PlainHTTP: true, CAFile: "x"}, "--plain-http"},
		{"oci://registry.example.com/charts", oci.Options{CAFile: "/does/not/exist"}, "--ca-file"},
		{"oci://registry.example.com/charts", oci.Options{ACR: oci.ACROptions{Auth: "bogus"}}, "--azure-auth"},
	} {
		_, err := oci.Open(tc.ref, tc.opts)
		require.Error(t, err, tc.ref)
		assert.ErrorIs(t, err, errdef.ErrUsage, tc.ref)
		assert.Contains(t, err.Error(), tc.want, tc.ref)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

func TestOCIPaging(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t, registrytest.WithMaxTags(3)) // like ACR's 1000, smaller
	cat := ociOpen(t, reg.Ref("paged"), oci.Options{PlainHTTP: true}, nil)
	dir := t.TempDir()
	want := []string{"0.1.0", "0.2.0", "0.10.0", "1.0.0-alpha", "1.0.0", "1.0.1+meta", "2.0.0"}
	for _, v := range want {
		_, err := cat.Publish(ctx, ociTestPackage(t, dir, "many", v, v))
		require.NoError(t, err)
	}
	// a tag that is no version is left out
	m, _ := ociManifest(t, reg, "paged/many", "2.0.0")
	raw, _ := json.Marshal(m)
	req, _ := http.NewRequest(http.MethodPut, reg.URL+"/v2/paged/many/manifests/latest", bytes.NewReader(raw))
	req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
	resp, err := reg.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	reg.ResetRequests()
	got, err := cat.Versions(ctx, "many")
	require.NoError(t, err)
	assert.Equal(t, want, got)
	pages := 0
	for _, r := range reg.RegistryRequests() {
		if strings.HasSuffix(r.Path, "/tags/list") {
			pages++
			assert.Contains(t, r.Query, "n=")
		}
	}
	assert.Equal(t, 3, pages, "8 tags at 3 a page: 3 pages, following Link") // 3+3+2
}

// ociLogBuffer is a goroutine-safe log sink.
type ociLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *ociLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *ociLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ociDebugLogger is what `chartship --verbose` logs with in CI.
func ociDebugLogger(w io.Writer) *slog.Logger {
	log, err := logging.New(w, logging.FormatPlain, true)
	if err != nil {
		panic(err)
	}
	return log
}

func TestOCIErrorsAreClassified(t *testing.T) {
	pkg := ociTestPackage(t, t.TempDir(), "x", "1.0.0", "")
	// nothing listens there: connection refused, retried, then an external error
	cat := ociOpen(t, "oci://127.0.0.1:1/charts", oci.Options{PlainHTTP: true, Retries: 2, Backoff: time.Millisecond}, nil)
	_, err := cat.Publish(context.Background(), pkg)
	require.Error(t, err)
	assert.ErrorIs(t, err, errdef.ErrExternal)
	assert.True(t, errors.Is(err, errdef.ErrExternal))
}

func ociOpenPackage(t testing.TB, path string) *chart.Package {
	t.Helper()
	p, err := chart.Open(path)
	require.NoError(t, err)
	return p
}
