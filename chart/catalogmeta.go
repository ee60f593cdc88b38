package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"helm.sh/helm/v3/pkg/chart/loader"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/internal/atomicfile"
	"github.com/chartship/chartship/internal/errdef"
)

// CatalogMeta is what a catalog's <chart>-<version>.tgz-meta/ folder needs beyond the
// archive, as Giant Swarm's app-operator and web UI read it, that only the source knows:
// the `restrictions` of the source Chart.yaml (a Giant Swarm key that Helm's loader drops
// from the packaged chart) and the README shown for the app — the chart's own README.md,
// else the app repository's. Build finds them and keeps them beside the archive
// (MetaPath), Open reads them back, so `publish` in a later step has them.
type CatalogMeta struct {
	Restrictions map[string]any `json:"restrictions,omitempty"`
	Readme       []byte         `json:"-"`
	// ReadmeFrom says where Readme came from: ReadmeFromRepository.
	ReadmeFrom string `json:"readmeFrom,omitempty"`
}

// ReadmeFromRepository as CatalogMeta.ReadmeFrom: the README is the app repository's,
// the chart having none (a chart's own README.md is in the archive and not kept again).
const ReadmeFromRepository = "repository"

func samePath(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// Empty reports whether there is nothing to keep.
func (m CatalogMeta) Empty() bool { return len(m.Restrictions) == 0 && m.Readme == nil }

// MetaPath is where Build keeps the package's CatalogMeta: "<archive>.meta.yaml".
func MetaPath(archive string) string { return archive + ".meta.yaml" }

// metaFile is MetaPath's content. Digest ties it to the archive's bytes: a file beside an
// archive that was replaced since (by another tool) is ignored.
type metaFile struct {
	Digest       string         `json:"digest"`
	Restrictions map[string]any `json:"restrictions,omitempty"`
	ReadmeFrom   string         `json:"readmeFrom,omitempty"`
	Readme       *string        `json:"readme,omitempty"`
}

// sourceCatalogMeta reads the catalog metadata of the chart in chartDir from its files as
// Build packages them (readChartFiles): restrictions from its Chart.yaml, the README from
// the chart or else from repoRoot (the app repository's work tree; "" when unknown).
func sourceCatalogMeta(chartDir, repoRoot string, files []*loader.BufferedFile) (CatalogMeta, error) {
	var m CatalogMeta
	chartFile := filepath.Join(chartDir, "Chart.yaml")
	var data []byte
	hasReadme := false
	for _, f := range files {
		switch f.Name {
		case "Chart.yaml":
			data = f.Data
		case "README.md":
			hasReadme = true
		}
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return m, errdef.Usage(fmt.Errorf("%s: %w", chartFile, err))
	}
	if r, ok := raw["restrictions"]; ok && r != nil {
		rm, ok := r.(map[string]any)
		if !ok {
			return m, errdef.Usage(fmt.Errorf("%s: restrictions must be a mapping (e.g. `restrictions: {clusterSingleton: true}`), not %T", chartFile, r))
		}
		m.Restrictions = rm
	}
	if repoRoot == "" {
		if parent := filepath.Dir(chartDir); filepath.Base(parent) == "helm" {
			repoRoot = filepath.Dir(parent) // Giant Swarm's layout: <repo>/helm/<chart>
		}
	}
	// The chart's own README.md is in the archive, where publish reads it; only the app
	// repository's needs keeping.
	if hasReadme || repoRoot == "" || samePath(repoRoot, chartDir) {
		return m, nil
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, errdef.Usage(fmt.Errorf("reading %s: %w", filepath.Join(repoRoot, "README.md"), err))
	}
	m.Readme, m.ReadmeFrom = readme, ReadmeFromRepository
	return m, nil
}

// writeCatalogMeta keeps p.Meta beside the archive, or removes a stale file when there is
// nothing to keep.
func writeCatalogMeta(p *Package) error {
	path := MetaPath(p.Path)
	if p.Meta.Empty() {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errdef.Usage(fmt.Errorf("removing the stale %s: %w", path, err))
		}
		return nil
	}
	f := metaFile{Digest: p.Digest.String(), Restrictions: p.Meta.Restrictions, ReadmeFrom: p.Meta.ReadmeFrom}
	if p.Meta.Readme != nil {
		s := string(p.Meta.Readme)
		f.Readme = &s
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return errdef.Usage(fmt.Errorf("writing %s: %w", path, err))
	}
	return nil
}

// readCatalogMeta reads what Build kept beside the archive at path; none (or one for other
// bytes) gives the zero CatalogMeta.
func readCatalogMeta(p *Package) (CatalogMeta, error) {
	path := MetaPath(p.Path)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return CatalogMeta{}, nil
	}
	if err != nil {
		return CatalogMeta{}, errdef.Usage(fmt.Errorf("reading %s: %w", path, err))
	}
	var f metaFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return CatalogMeta{}, errdef.Usage(fmt.Errorf("%s: %w; delete it or package the chart again", path, err))
	}
	if f.Digest != p.Digest.String() {
		return CatalogMeta{}, nil
	}
	m := CatalogMeta{Restrictions: f.Restrictions, ReadmeFrom: f.ReadmeFrom}
	if f.Readme != nil {
		m.Readme = bytes.Clone([]byte(*f.Readme))
	}
	return m, nil
}
