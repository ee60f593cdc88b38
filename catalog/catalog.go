// Package catalog is where charts live once released: an OCI registry or a
// git-hosted Helm repository (index.yaml + .tgz served by GitHub Pages), and,
// read-only, any Helm repository served over HTTP(S). One interface serves them
// all: publish writes to catalogs, the upgrade test reads released versions from
// them, gitops reads the tags a registry offers.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
)

// Lister lists the versions of a chart that a catalog holds, as the catalog spells
// them (a version, not an OCI tag: "1.2.3+build" rather than "1.2.3_build").
type Lister interface {
	Versions(ctx context.Context, chart string) ([]string, error)
}

// Fetcher downloads one version of a chart into dir and returns the archive's path.
type Fetcher interface {
	Fetch(ctx context.Context, chart, version, dir string) (string, error)
}

// Publisher adds a packaged chart to a catalog. Publishing is idempotent: the same
// bytes again give AlreadyPublished; different bytes under a released version give
// an error matching ErrConflict, and change nothing.
type Publisher interface {
	Publish(ctx context.Context, pkg *chart.Package) (Result, error)
}

// Catalog is a place charts are published to and read from.
type Catalog interface {
	Lister
	Fetcher
	Publisher
	// String names the catalog for people, without any credential.
	String() string
}

// Status says what a publish did.
type Status string

const (
	// Published means the package was written to the catalog.
	Published Status = "published"
	// AlreadyPublished means the catalog already held these exact bytes; nothing
	// was written.
	AlreadyPublished Status = "already published"
)

// Result is the outcome of publishing one package to one catalog.
type Result struct {
	Catalog string `json:"catalog"`        // the catalog, as String() names it
	Chart   string `json:"chart"`          // chart name
	Version string `json:"version"`        // chart version
	Ref     string `json:"ref"`            // where the package now is: OCI reference or archive URL
	Digest  string `json:"digest"`         // sha256 digest of the package (.tgz)
	Status  Status `json:"status"`         // what happened
	Note    string `json:"note,omitempty"` // anything a person should know (e.g. a fallback taken)
}

var (
	// ErrConflict means the catalog already holds this version with different
	// content. Released versions are immutable.
	ErrConflict = errors.New("version already published with different content")
	// ErrNotFound means the catalog has no such chart or version.
	ErrNotFound = errors.New("not found in catalog")
)

// Options configure how catalogs are reached, grouped by kind of catalog.
type Options struct {
	Logger *slog.Logger
	OCI    OCIOptions
	Git    GitOptions
}

// Open returns the catalog a reference names:
//
//	oci://REGISTRY/NAMESPACE           an OCI registry namespace (charts at NAMESPACE/<chart>)
//	git+https://HOST/ORG/REPO.git      a git-hosted Helm catalog (also git+ssh://, git+file://)
//	https://HOST/PATH/                 a Helm repository served over HTTP(S), read-only
func Open(ref string, opts Options) (Catalog, error) {
	switch {
	case strings.HasPrefix(ref, "oci://"):
		return openOCI(ref, opts)
	case strings.HasPrefix(ref, "git+"):
		return openGit(ref, opts)
	case strings.HasPrefix(ref, "https://"), strings.HasPrefix(ref, "http://"):
		return openHTTP(ref, opts)
	default:
		return nil, errdef.Usage(fmt.Errorf("catalog %q: unknown kind; use oci://REGISTRY/NAMESPACE, git+https://HOST/ORG/REPO.git or https://HOST/PATH/ (a Helm repository)", ref))
	}
}
