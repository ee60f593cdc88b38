// Package catalogdef holds the vocabulary every catalog backend shares: the
// result of a publish, the sentinel errors and the prune request. The catalog
// package re-exports each name (catalog.Result, catalog.ErrNotFound, …); use
// those. It is a separate package only so that the backends (catalog/oci,
// catalog/gitrepo, catalog/httprepo) need not import catalog, which opens them.
package catalogdef

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/chartship/chartship/internal/errdef"
)

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
	// Attached says where each attachment now is (a file URL of the git
	// catalog's -meta/ folder, the digest of an OCI referrer).
	Attached []string `json:"attached,omitempty"`
	// Manifest is the OCI manifest's digest in an OCI registry (what Flux
	// records and pins with spec.ref.digest or digestReflectionPolicy).
	Manifest string `json:"manifest,omitempty"`
	// Signatures are the cosign signatures and attestations of the chart in an
	// OCI registry (package sign), when publishing signs.
	Signatures []Signature `json:"signatures,omitempty"`
}

// Signature is one signed statement (a sigstore bundle) about a published chart.
type Signature struct {
	PredicateType string `json:"predicateType"` // https://sigstore.dev/cosign/sign/v1 for the plain signature
	Ref           string `json:"ref"`           // the referrer holding the bundle: REPO@sha256:…
	Status        string `json:"status"`        // "signed" or "already signed"
}

// Attachment is a document about a package that a catalog keeps beside it:
// not part of the archive, so it doesn't change the package's digest. The
// upgrade test's result travels this way. A git catalog writes it into
// <chart>-<version>.tgz-meta/<Name>; an OCI registry stores it as a referrer
// of the chart's manifest (an OCI 1.1 artifact manifest whose subject is the
// chart and whose artifactType is MediaType), where signatures and
// attestations (cosign, notation) live too. Attachments are written with a
// fresh publish only: a package already published keeps what it has.
type Attachment struct {
	Name      string // a plain file name, e.g. "upgrade-test.json"
	MediaType string // e.g. "application/vnd.chartship.upgrade-test.v1+json"
	Data      []byte
	// Annotations go on an OCI referrer's manifest (sigstore bundles carry
	// dev.sigstore.bundle.predicateType there); a git catalog ignores them.
	Annotations map[string]string
}

var (
	// ErrConflict means the catalog already holds this version with different
	// content. Released versions are immutable.
	ErrConflict = errors.New("version already published with different content")
	// ErrNotFound means the catalog has no such chart or version.
	ErrNotFound = errors.New("not found in catalog")
)

// PruneOptions select the versions to remove: every version matching Match
// whose entry was created more than OlderThan ago.
type PruneOptions struct {
	Match     *regexp.Regexp // matched against the version, e.g. `-dev\.`
	OlderThan time.Duration
	DryRun    bool // list what would go, change nothing
	// Charts limits the prune to these charts; an OCI registry that can't
	// list its repositories needs them.
	Charts []string
}

// Prunable reports whether a version may be pruned at all: pre-releases
// (dev builds) only — a release is never pruned, whatever Match says.
func Prunable(version string) bool {
	v, err := semver.StrictNewVersion(version)
	return err == nil && v.Prerelease() != ""
}

// PrunedVersion is one removed (or, in a dry run, removable) version.
type PrunedVersion struct {
	Chart   string    `json:"chart"`
	Version string    `json:"version"`
	Created time.Time `json:"created"`
}

// PruneResult says what a prune removed.
type PruneResult struct {
	Catalog string          `json:"catalog"`
	DryRun  bool            `json:"dryRun"`
	Removed []PrunedVersion `json:"removed"`
}

// SortRemoved orders Removed by chart, then version (as written).
func (r *PruneResult) SortRemoved() {
	sort.Slice(r.Removed, func(i, j int) bool {
		a, b := r.Removed[i], r.Removed[j]
		return a.Chart < b.Chart || a.Chart == b.Chart && a.Version < b.Version
	})
}

// CheckDigest compares a downloaded archive's sha256 with the hex digest a
// Helm index lists for it ("" skips the check).
func CheckDigest(p, want string) error {
	if want == "" {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.TrimPrefix(want, "sha256:") {
		return errdef.External(fmt.Errorf("%s: digest %s does not match the index (%s); the catalog is inconsistent", filepath.Base(p), got, want))
	}
	return nil
}
