// Package catalog is where charts live once released: an OCI registry
// (catalog/oci) or a git-hosted Helm repository (catalog/gitrepo: index.yaml +
// .tgz served by GitHub Pages), and, read-only, any Helm repository served over
// HTTP(S) (catalog/httprepo). This package is the seam between them and their
// users: the interfaces, the results and errors every kind shares, Open (which
// picks the kind from the reference), and .chartship.yaml's list of named
// catalogs. Publish writes to catalogs, the upgrade test reads released
// versions from them, gitops reads the tags a registry offers.
package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/chartship/chartship/catalog/gitrepo"
	"github.com/chartship/chartship/catalog/httprepo"
	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
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

// Publisher adds a packaged chart to a catalog, with documents about it kept
// beside it (see Attachment). Publishing is idempotent: the same bytes again
// give AlreadyPublished; different bytes under a released version give an
// error matching ErrConflict, and change nothing.
type Publisher interface {
	Publish(ctx context.Context, pkg *chart.Package, attachments ...Attachment) (Result, error)
}

// Catalog is a place charts are published to and read from.
type Catalog interface {
	Lister
	Fetcher
	Publisher
	// String names the catalog for people, without any credential.
	String() string
}

// Pruner removes old versions from a catalog (test catalogs collect dev builds).
type Pruner interface {
	Prune(ctx context.Context, opts PruneOptions) (PruneResult, error)
}

// The vocabulary every kind of catalog shares (defined in an internal package
// so that the backends need not import this one).
type (
	// Result is the outcome of publishing one package to one catalog.
	Result = catalogdef.Result
	// Status says what a publish did: Published or AlreadyPublished.
	Status = catalogdef.Status
	// PruneOptions select the versions a prune removes.
	PruneOptions = catalogdef.PruneOptions
	// PruneResult says what a prune removed.
	PruneResult = catalogdef.PruneResult
	// PrunedVersion is one removed (or, in a dry run, removable) version.
	PrunedVersion = catalogdef.PrunedVersion
	// Attachment is a document a catalog keeps beside a package (the upgrade
	// test's result): a file in the git catalog's -meta/ folder, a referrer
	// artifact in an OCI registry.
	Attachment = catalogdef.Attachment
	// Signature is a cosign signature or attestation of a published chart.
	Signature = catalogdef.Signature
)

const (
	// Published means the package was written to the catalog.
	Published = catalogdef.Published
	// AlreadyPublished means the catalog already held these exact bytes.
	AlreadyPublished = catalogdef.AlreadyPublished
)

var (
	// ErrConflict means the catalog already holds this version with different
	// content. Released versions are immutable.
	ErrConflict = catalogdef.ErrConflict
	// ErrNotFound means the catalog has no such chart or version.
	ErrNotFound = catalogdef.ErrNotFound
)

// Kind is the kind of catalog a reference names.
type Kind string

// The kinds of catalog.
const (
	KindOCI  Kind = "oci"  // oci://REGISTRY/NAMESPACE
	KindGit  Kind = "git"  // git+https://, git+ssh://, git+file://
	KindHTTP Kind = "http" // https://HOST/PATH/, read-only
)

// KindOf returns the kind of catalog ref names.
func KindOf(ref string) (Kind, error) {
	switch {
	case strings.HasPrefix(ref, "oci://"):
		return KindOCI, nil
	case strings.HasPrefix(ref, "git+"):
		return KindGit, nil
	case strings.HasPrefix(ref, "https://"), strings.HasPrefix(ref, "http://"):
		return KindHTTP, nil
	}
	return "", errdef.Usage(fmt.Errorf("catalog %q: unknown kind; use oci://REGISTRY/NAMESPACE, git+https://HOST/ORG/REPO.git or https://HOST/PATH/ (a Helm repository)", ref))
}

// Options configure how catalogs are reached, grouped by kind of catalog.
// Logger is the default of each kind's own Logger.
type Options struct {
	Logger *slog.Logger
	OCI    oci.Options
	Git    gitrepo.Options
}

// DefaultOptions are each kind's DefaultOptions.
func DefaultOptions() Options {
	return Options{OCI: oci.DefaultOptions(), Git: gitrepo.DefaultOptions()}
}

// Open returns the catalog a reference names:
//
//	oci://REGISTRY/NAMESPACE           an OCI registry namespace (charts at NAMESPACE/<chart>)
//	git+https://HOST/ORG/REPO.git      a git-hosted Helm catalog (also git+ssh://, git+file://)
//	https://HOST/PATH/                 a Helm repository served over HTTP(S), read-only
//
// A new kind of catalog is a package beside catalog/oci with an Open of its
// own, a Kind here and a case below.
func Open(ref string, opts Options) (Catalog, error) {
	kind, err := KindOf(ref)
	if err != nil {
		return nil, err
	}
	switch kind {
	case KindOCI:
		o := opts.OCI
		if o.Logger == nil {
			o.Logger = opts.Logger
		}
		return opened(oci.Open(ref, o))
	case KindGit:
		o := opts.Git
		if o.Logger == nil {
			o.Logger = opts.Logger
		}
		return opened(gitrepo.Open(ref, o))
	default:
		return opened(httprepo.Open(ref, opts.Logger))
	}
}

// opened turns a backend's (*T, error) into (Catalog, error) without a typed nil.
func opened[C Catalog](c C, err error) (Catalog, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}
