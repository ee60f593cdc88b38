package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/opencontainers/go-digest"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/chartship/chartship/internal/errdef"
)

// Package is a packaged chart: a .tgz on disk, what its Chart.yaml says, and its
// digest. It is read once — by Build or Open — and that one value travels
// through the stages: the upgrade test installs its chart (Load), catalogs
// publish its bytes (Bytes), so what is published is exactly what was tested,
// even if the file changes meanwhile.
type Package struct {
	Path     string              // the .tgz
	ProvPath string              // the .tgz.prov beside it, or "" when the chart is unsigned
	Metadata *helmchart.Metadata // Chart.yaml as packaged
	Digest   digest.Digest       // sha256 of the .tgz bytes, "sha256:<hex>"
	Size     int64               // size of the .tgz in bytes
	Meta     CatalogMeta         // for the catalog's -meta/ folder: what the source knew (see CatalogMeta)

	mu    sync.Mutex
	data  []byte           // the archive, as read and hashed once
	chart *helmchart.Chart // the chart loaded from data
}

// NewPackage is the package whose archive, already read and loaded, is data
// and c (Build and Open make packages this way); path is where it lies.
func NewPackage(path string, data []byte, c *helmchart.Chart) *Package {
	return &Package{Path: path, Metadata: c.Metadata, Digest: digest.FromBytes(data), Size: int64(len(data)), data: data, chart: c}
}

// Bytes returns the archive's bytes, read once. A Package made without them
// (a literal) reads Path the first time and checks its Digest.
func (p *Package) Bytes() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.data != nil {
		return p.data, nil
	}
	data, err := os.ReadFile(p.Path)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("reading %s: %w", p.Path, err))
	}
	if d := digest.FromBytes(data); p.Digest != "" && d != p.Digest {
		return nil, errdef.Usage(fmt.Errorf("%s changed since it was opened (digest %s, was %s); open it again", p.Path, d, p.Digest))
	}
	p.data = data
	return data, nil
}

// Name is the chart's name.
func (p *Package) Name() string { return p.Metadata.Name }

// Version is the chart's version.
func (p *Package) Version() string { return p.Metadata.Version }

// String names the package as name-version.
func (p *Package) String() string { return p.Metadata.Name + "-" + p.Metadata.Version }

// Load returns the whole chart (templates, values, files) in the archive,
// loaded once.
func (p *Package) Load() (*helmchart.Chart, error) {
	data, err := p.Bytes()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.chart != nil {
		return p.chart, nil
	}
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("loading chart archive %s: %w", p.Path, err))
	}
	p.chart = c
	return c, nil
}

// Open reads a packaged chart archive: its Chart.yaml, its digest, and the
// provenance file beside it when there is one. The archive must be a valid chart.
func Open(path string) (*Package, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("opening chart archive: %w", err))
	}
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s is not a valid chart archive: %w; package it with `chartship package`", path, err))
	}
	if err := c.Metadata.Validate(); err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s: invalid Chart.yaml: %w", path, err))
	}
	p := NewPackage(path, data, c)
	if p.Meta, err = readCatalogMeta(p); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path + ".prov"); err == nil {
		p.ProvPath = path + ".prov"
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, errdef.Usage(fmt.Errorf("checking provenance file %s.prov: %w", path, err))
	}
	return p, nil
}
