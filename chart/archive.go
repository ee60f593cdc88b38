package chart

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/opencontainers/go-digest"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/chartship/chartship/internal/errdef"
)

// Package is a packaged chart: a .tgz on disk, what its Chart.yaml says, and its
// digest. Catalogs publish Packages; the upgrade test installs them.
type Package struct {
	Path     string              // the .tgz
	ProvPath string              // the .tgz.prov beside it, or "" when the chart is unsigned
	Metadata *helmchart.Metadata // Chart.yaml as packaged
	Digest   digest.Digest       // sha256 of the .tgz bytes, "sha256:<hex>"
	Size     int64               // size of the .tgz in bytes
	// Attachments are documents about the package that catalogs with a metadata
	// folder keep beside it (the git catalog's <chart>-<version>.tgz-meta/), by
	// file name: e.g. the upgrade test's result as upgrade-test.json. They are not
	// part of the archive and don't change its digest.
	Attachments map[string][]byte
}

// Name is the chart's name.
func (p *Package) Name() string { return p.Metadata.Name }

// Version is the chart's version.
func (p *Package) Version() string { return p.Metadata.Version }

// String names the package as name-version.
func (p *Package) String() string { return p.Metadata.Name + "-" + p.Metadata.Version }

// Load reads the whole chart (templates, values, files) from the archive.
func (p *Package) Load() (*helmchart.Chart, error) {
	c, err := loader.LoadFile(p.Path)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("loading chart archive %s: %w", p.Path, err))
	}
	return c, nil
}

// Open reads a packaged chart archive: its Chart.yaml, its digest, and the
// provenance file beside it when there is one. The archive must be a valid chart.
func Open(path string) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("opening chart archive: %w", err))
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("reading chart archive %s: %w", path, err))
	}
	c, err := loader.LoadFile(path)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s is not a valid chart archive: %w; package it with `chartship package`", path, err))
	}
	if err := c.Metadata.Validate(); err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s: invalid Chart.yaml: %w", path, err))
	}
	p := &Package{
		Path:     path,
		Metadata: c.Metadata,
		Digest:   digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil)),
		Size:     size,
	}
	if _, err := os.Stat(path + ".prov"); err == nil {
		p.ProvPath = path + ".prov"
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, errdef.Usage(fmt.Errorf("checking provenance file %s.prov: %w", path, err))
	}
	return p, nil
}
