package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/errdef"
)

// The referrer methods below are what signing and verification (package sign)
// need of a registry: the chart manifest a version's tag points at, the
// referrers of that manifest (through the referrers API, or the tag-schema
// fallback sha256-<hex> on registries without it, such as GHCR and the
// distribution registry), one referrer's manifest and layer, and attaching a
// new referrer.

// Subject returns the descriptor of the chart manifest chart:version's tag
// points at (one GET); a missing version matches catalogdef.ErrNotFound.
func (c *Catalog) Subject(ctx context.Context, chartName, version string) (ocispec.Descriptor, error) {
	repo, err := c.refRepository(chartName)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendRepositoryScope(ctx, repo.Reference, auth.ActionPull)
	got, err := c.resolve(ctx, repo, tagOf(version))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return got.desc, nil
}

// Reference is the OCI reference of chart@digest in this catalog.
func (c *Catalog) Reference(chartName string, d digest.Digest) string {
	repo, err := c.refRepository(chartName)
	if err != nil {
		return chartName + "@" + d.String()
	}
	return repo.Reference.String() + "@" + d.String()
}

// Referrers lists the referrers of subject whose artifactType is artifactType
// ("" for all).
func (c *Catalog) Referrers(ctx context.Context, chartName string, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	repo, err := c.refRepository(chartName)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendRepositoryScope(ctx, repo.Reference, auth.ActionPull)
	var out []ocispec.Descriptor
	err = repo.Referrers(ctx, subject, artifactType, func(ds []ocispec.Descriptor) error {
		out = append(out, ds...)
		return nil
	})
	if err != nil && !isNotFound(err) {
		return nil, c.fail(fmt.Sprintf("listing the referrers of %s@%s", repo.Reference, subject.Digest), err)
	}
	return out, nil
}

// FetchReferrer reads one referrer: its manifest and the bytes of its first
// layer (a sigstore bundle, an attachment), checked against their digests.
func (c *Catalog) FetchReferrer(ctx context.Context, chartName string, desc ocispec.Descriptor) (ocispec.Manifest, []byte, error) {
	repo, err := c.refRepository(chartName)
	if err != nil {
		return ocispec.Manifest{}, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendRepositoryScope(ctx, repo.Reference, auth.ActionPull)
	mb, err := content.FetchAll(ctx, repo.Manifests(), desc)
	if err != nil {
		return ocispec.Manifest{}, nil, c.fail(fmt.Sprintf("reading referrer %s@%s", repo.Reference, desc.Digest), err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return ocispec.Manifest{}, nil, errdef.External(fmt.Errorf("referrer %s@%s is not a valid manifest: %w", repo.Reference, desc.Digest, err))
	}
	if len(m.Layers) == 0 {
		return m, nil, nil
	}
	data, err := c.fetchBlob(ctx, repo, m.Layers[0])
	if err != nil {
		return ocispec.Manifest{}, nil, err
	}
	return m, data, nil
}

// Attach stores a as a referrer of subject (see attach) and returns the
// referrer manifest's digest.
func (c *Catalog) Attach(ctx context.Context, chartName string, subject ocispec.Descriptor, a catalogdef.Attachment) (digest.Digest, error) {
	repo, err := c.refRepository(chartName)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendRepositoryScope(ctx, repo.Reference, auth.ActionPull, auth.ActionPush)
	return c.attach(ctx, repo, subject, a)
}

// SplitChartRef splits oci://REGISTRY[/NAMESPACE]/CHART:VERSION into the
// catalog reference (oci://REGISTRY[/NAMESPACE]), the chart and the version
// (an OCI tag's '_' read as semver's '+').
func SplitChartRef(ref string) (catalogRef, chartName, version string, err error) {
	bad := func(why string) error {
		return errdef.Usage(fmt.Errorf("%q: %s; want oci://REGISTRY/NAMESPACE/CHART:VERSION", redactRef(ref), why))
	}
	if !strings.HasPrefix(ref, "oci://") {
		return "", "", "", bad("not an oci:// reference")
	}
	rest := strings.TrimPrefix(ref, "oci://")
	slash := strings.LastIndexByte(rest, '/')
	if slash < 0 {
		return "", "", "", bad("no chart name")
	}
	chartName, version, ok := strings.Cut(rest[slash+1:], ":")
	if !ok || version == "" || chartName == "" {
		return "", "", "", bad("no :VERSION")
	}
	catalogRef = "oci://" + rest[:slash]
	if _, _, err := parseRef(catalogRef); err != nil {
		return "", "", "", err
	}
	if r, err := registry.ParseReference(rest); err != nil || r.Reference != version {
		return "", "", "", bad(fmt.Sprintf("not a valid OCI reference (%v)", err))
	}
	return catalogRef, chartName, strings.ReplaceAll(version, "_", "+"), nil
}

// refRepository is the chart's repository for the referrer methods, kept for
// the catalog's lifetime: it remembers whether the registry has the referrers
// API, so only the first listing probes it.
func (c *Catalog) refRepository(chartName string) (*remote.Repository, error) {
	if r, ok := c.refRepos.Load(chartName); ok {
		return r.(*remote.Repository), nil
	}
	repo, err := c.repository(chartName)
	if err != nil {
		return nil, err
	}
	r, _ := c.refRepos.LoadOrStore(chartName, repo)
	return r.(*remote.Repository), nil
}
