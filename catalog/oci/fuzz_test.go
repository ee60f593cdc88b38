package oci_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/errdef"
)

// hostileRegistry serves whatever bytes it is given as the manifest of
// fz/x:1.0.0, its tag list and one blob: a registry that lies. (The real
// registry of registrytest checks manifests on the way in, so it can't serve
// these; a client must survive any registry.)
type hostileRegistry struct {
	mu                      sync.Mutex
	manifest, tags, blob    []byte
	mediaType, headerDigest string
}

func (h *hostileRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	manifest, tags, blob, mediaType, headerDigest := h.manifest, h.tags, h.blob, h.mediaType, h.headerDigest
	h.mu.Unlock()
	switch {
	case r.URL.Path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case strings.HasSuffix(r.URL.Path, "/manifests/1.0.0"):
		w.Header().Set("Content-Type", mediaType)
		w.Header().Set("Docker-Content-Digest", headerDigest)
		_, _ = w.Write(manifest)
	case strings.HasSuffix(r.URL.Path, "/tags/list"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(tags)
	case strings.Contains(r.URL.Path, "/blobs/"):
		_, _ = w.Write(blob)
	default:
		http.NotFound(w, r)
	}
}

// FuzzOCIHostileRegistry: whatever a registry answers — wrong media types,
// digests that don't match, oversized or absurd descriptors, broken JSON —
// Fetch and Versions never panic, fail classified (exit 2 or 3) with nothing
// written, or return exactly the bytes the manifest's digest names.
func FuzzOCIHostileRegistry(f *testing.F) {
	chart := []byte("not really a tgz, but its digest is right")
	good := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"` + digest.FromBytes(chart).String() + `","size":` + strconv.Itoa(len(chart)) + `}]}`
	for _, s := range []struct {
		manifest, mediaType, tags string
		blob                      []byte
		rightDigest               bool
	}{
		{good, "application/vnd.oci.image.manifest.v1+json", `{"name":"fz/x","tags":["1.0.0","latest"]}`, chart, true},
		{good, "application/vnd.oci.image.manifest.v1+json", `{"tags":["1.0.0"]}`, []byte("other bytes"), true},
		{good, "application/vnd.oci.image.manifest.v1+json", `{"tags":null}`, chart, false},
		{strings.Replace(good, "helm.config", "docker.config", 1), "application/vnd.docker.distribution.manifest.v2+json", `[]`, chart, true},
		{strings.Replace(good, `"size":`+strconv.Itoa(len(chart)), `"size":4611686018427387904`, 1), "application/vnd.oci.image.manifest.v1+json", `{`, chart, true},
		{strings.Replace(good, `"size":`+strconv.Itoa(len(chart)), `"size":-1`, 1), "application/vnd.oci.image.manifest.v1+json", `{"tags":[""]}`, chart, true},
		{`{"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:zz"}]}`, "application/vnd.oci.image.manifest.v1+json", `{"tags":["../../x"]}`, chart, true},
		{`not json`, "text/html", `not json`, nil, true},
		{strings.Repeat(`{"a":`, 10000), "application/vnd.oci.image.manifest.v1+json", strings.Repeat("[", 10000), nil, true},
	} {
		f.Add(s.manifest, s.mediaType, s.tags, s.blob, s.rightDigest)
	}
	h := &hostileRegistry{}
	srv := httptest.NewServer(h)
	f.Cleanup(srv.Close)
	cat, err := oci.Open("oci://"+strings.TrimPrefix(srv.URL, "http://")+"/fz", oci.Options{PlainHTTP: true, Retries: 0, Timeout: 5 * time.Second, RequestTimeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, manifest, mediaType, tags string, blob []byte, rightDigest bool) {
		h.mu.Lock()
		h.manifest, h.mediaType, h.tags, h.blob = []byte(manifest), mediaType, []byte(tags), blob
		h.headerDigest = digest.FromString(manifest).String()
		if !rightDigest {
			h.headerDigest = digest.FromString("something else").String()
		}
		h.mu.Unlock()
		ctx := context.Background()
		dir := t.TempDir()
		path, err := cat.Fetch(ctx, "x", "1.0.0", dir)
		if err != nil {
			if errdef.Kind(err) == nil && !errors.Is(err, catalogdef.ErrNotFound) {
				t.Fatalf("unclassified error: %v", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("a failed fetch left %s behind", ents[0].Name())
			}
		} else {
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !strings.Contains(manifest, digest.FromBytes(got).Encoded()) {
				t.Fatalf("fetched bytes whose digest the manifest doesn't name")
			}
		}
		if _, err := cat.Versions(ctx, "x"); err != nil && errdef.Kind(err) == nil && !errors.Is(err, catalogdef.ErrNotFound) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}
