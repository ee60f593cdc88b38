// Package httprepo reads a Helm repository served over HTTP(S): index.yaml
// and the archives its entries' urls name. It is read-only: publish to the
// repository's source (a git catalog, an OCI registry) instead.
package httprepo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/internal/helmindex"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/redact"
)

// Catalog is a Helm repository served over HTTP(S): index.yaml and the
// archives its entries' urls name. It is read-only.
type Catalog struct {
	base   *url.URL // ends with "/"
	name   string
	client *http.Client
	log    *slog.Logger
	// maxIndex is the most of index.yaml read (helmindex.MaxSize; tests lower it).
	maxIndex int64
}

// Open returns the repository at ref: https://HOST/PATH/ (the directory holding
// index.yaml, or index.yaml's own URL).
func Open(ref string, log *slog.Logger) (*Catalog, error) {
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return nil, errdef.Usage(fmt.Errorf("catalog %s: not a URL; use https://HOST/PATH/ (the directory holding index.yaml)", redact.URL(ref)))
	}
	u.Path = strings.TrimSuffix(u.Path, "index.yaml")
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return &Catalog{base: u, name: redact.URL(u.String()), client: http.DefaultClient, log: logging.OrDiscard(log), maxIndex: helmindex.MaxSize}, nil
}

func (h *Catalog) String() string { return h.name }

// Publish refuses: an HTTP Helm repository is read-only.
func (h *Catalog) Publish(context.Context, *chart.Package, ...catalogdef.Attachment) (catalogdef.Result, error) {
	return catalogdef.Result{}, errdef.Usage(fmt.Errorf("catalog %s is a read-only Helm repository over HTTP; publish to its source instead: git+https://HOST/ORG/REPO.git or oci://REGISTRY/NAMESPACE", h.name))
}

// get copies the body of u into w; limit > 0 refuses a body of more than limit
// bytes (errTooLarge) once it has read limit+1 of them.
func (h *Catalog) get(ctx context.Context, u *url.URL, w io.Writer, limit int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return errdef.Usage(err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return errdef.External(fmt.Errorf("GET %s: %v; check the URL and the network", redact.URL(u.String()), err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("GET %s: %w", redact.URL(u.String()), catalogdef.ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return errdef.External(fmt.Errorf("GET %s: %s", redact.URL(u.String()), resp.Status))
	}
	body := io.Reader(resp.Body)
	if limit > 0 {
		body = io.LimitReader(resp.Body, limit+1)
	}
	n, err := io.Copy(w, body)
	if err != nil {
		return errdef.External(fmt.Errorf("GET %s: %w", redact.URL(u.String()), err))
	}
	if limit > 0 && n > limit {
		return helmindex.TooLarge(0, limit, "this HTTP catalog is read-only: prune it where it is published (chartship catalog prune --to git+https://… for a GitHub Pages catalog)")
	}
	return nil
}

func (h *Catalog) index(ctx context.Context) (*repo.IndexFile, error) {
	var b strings.Builder
	if err := h.get(ctx, h.base.JoinPath("index.yaml"), &b, h.maxIndex); err != nil {
		return nil, fmt.Errorf("catalog %s: reading index.yaml: %w", h.name, err)
	}
	var i repo.IndexFile
	if err := yaml.Unmarshal([]byte(b.String()), &i); err != nil {
		return nil, errdef.External(fmt.Errorf("catalog %s: index.yaml is not a valid Helm index: %w", h.name, err))
	}
	return &i, nil
}

func (h *Catalog) entries(ctx context.Context, name string) (repo.ChartVersions, error) {
	i, err := h.index(ctx)
	if err != nil {
		return nil, err
	}
	cvs := i.Entries[name]
	if len(cvs) == 0 {
		return nil, fmt.Errorf("catalog %s: chart %s: %w", h.name, name, catalogdef.ErrNotFound)
	}
	return cvs, nil
}

// Versions lists the chart's versions as the index lists them.
func (h *Catalog) Versions(ctx context.Context, name string) ([]string, error) {
	cvs, err := h.entries(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(cvs))
	for _, cv := range cvs {
		if cv != nil && cv.Metadata != nil {
			out = append(out, cv.Version)
		}
	}
	return out, nil
}

// Fetch downloads the archive the entry's first url names (relative urls are
// resolved against the repository URL) and checks its digest.
func (h *Catalog) Fetch(ctx context.Context, name, version, dir string) (string, error) {
	cvs, err := h.entries(ctx, name)
	if err != nil {
		return "", err
	}
	for _, cv := range cvs {
		if cv == nil || cv.Metadata == nil || cv.Version != version {
			continue
		}
		if len(cv.URLs) == 0 {
			return "", errdef.External(fmt.Errorf("catalog %s: %s %s has no urls in index.yaml", h.name, name, version))
		}
		ref, err := url.Parse(cv.URLs[0])
		if err != nil {
			return "", errdef.External(fmt.Errorf("catalog %s: %s %s: bad url in index.yaml: %w", h.name, name, version, err))
		}
		u := h.base.ResolveReference(ref)
		dst := filepath.Join(dir, path.Base(u.Path))
		f, err := os.Create(dst)
		if err != nil {
			return "", err
		}
		if err := h.get(ctx, u, f, 0); err != nil {
			f.Close()
			os.Remove(dst)
			return "", fmt.Errorf("catalog %s: %w", h.name, err)
		}
		if err := f.Close(); err != nil {
			return "", err
		}
		if err := catalogdef.CheckDigest(dst, cv.Digest); err != nil {
			os.Remove(dst)
			return "", fmt.Errorf("catalog %s: %w", h.name, err)
		}
		return dst, nil
	}
	return "", fmt.Errorf("catalog %s: %s %s: %w", h.name, name, version, catalogdef.ErrNotFound)
}
