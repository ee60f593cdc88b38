package sign

import (
	"context"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartship/chartship/catalog"
)

// Store is the OCI registry namespace that holds a chart and its referrers:
// what signing and verification need of it. *oci.Catalog implements it.
type Store interface {
	// Subject is the chart manifest chart:version's tag points at.
	Subject(ctx context.Context, chart, version string) (ocispec.Descriptor, error)
	// Referrers lists the referrers of subject with that artifactType ("" for
	// all): the referrers API, or the tag-schema fallback (sha256-<hex>).
	Referrers(ctx context.Context, chart string, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error)
	// FetchReferrer reads a referrer's manifest and its first layer.
	FetchReferrer(ctx context.Context, chart string, desc ocispec.Descriptor) (ocispec.Manifest, []byte, error)
	// Attach pushes a as a referrer of subject and returns its manifest digest.
	Attach(ctx context.Context, chart string, subject ocispec.Descriptor, a catalog.Attachment) (digest.Digest, error)
	// Versions lists the chart's versions, oldest first.
	Versions(ctx context.Context, chart string) ([]string, error)
	// Reference is chart@digest as an OCI reference (for messages).
	Reference(chart string, d digest.Digest) string
	String() string
}
