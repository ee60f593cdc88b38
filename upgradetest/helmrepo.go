package upgradetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/internal/redact"
)

// HelmRepo is a Catalog read from a classic helm repository over HTTP(S): its index.yaml and
// the .tgz files it points at. It is the seam's minimal stand-in until package catalog
// serves helm repos (then catalog.Catalog is passed instead).
type HelmRepo struct {
	URL    string       // base URL, e.g. https://charts.example.com/stable/
	Client *http.Client // nil: http.DefaultClient
}

var _ Catalog = (*HelmRepo)(nil)

// Versions lists the chart's versions from the repository's index.yaml.
func (h *HelmRepo) Versions(ctx context.Context, chart string) ([]string, error) {
	idx, err := h.index(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, cv := range idx.Entries[chart] {
		out = append(out, cv.Version)
	}
	return out, nil
}

// Fetch downloads the package of chart at version into dir and returns its path.
func (h *HelmRepo) Fetch(ctx context.Context, chart, version, dir string) (string, error) {
	idx, err := h.index(ctx)
	if err != nil {
		return "", err
	}
	for _, cv := range idx.Entries[chart] {
		if cv.Version != version || len(cv.URLs) == 0 {
			continue
		}
		u, err := h.resolve(cv.URLs[0])
		if err != nil {
			return "", err
		}
		data, err := h.get(ctx, u)
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, chart+"-"+version+".tgz")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("helm repository %s has no %s %s", redact.URL(h.URL), chart, version)
}

func (h *HelmRepo) index(ctx context.Context) (*repo.IndexFile, error) {
	u, err := h.resolve("index.yaml")
	if err != nil {
		return nil, err
	}
	data, err := h.get(ctx, u)
	if err != nil {
		return nil, err
	}
	var idx repo.IndexFile
	if err := yaml.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("parsing index.yaml of helm repository %s: %w", redact.URL(h.URL), err)
	}
	return &idx, nil
}

func (h *HelmRepo) resolve(ref string) (string, error) {
	base, err := url.Parse(strings.TrimSuffix(h.URL, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("helm repository URL %s: %w", redact.URL(h.URL), err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("helm repository %s: bad chart URL: %w", redact.URL(h.URL), err)
	}
	return base.ResolveReference(r).String(), nil
}

func (h *HelmRepo) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redact.URL(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s; check the --catalog URL", redact.URL(u), resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}
