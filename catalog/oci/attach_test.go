package oci_test

import (
	"context"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"encoding/json"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/registrytest"
)

// TestOCIPublishKeepsAttachmentsAsReferrers: an attachment (the upgrade
// test's result) becomes a referrer of the chart's manifest that any OCI 1.1
// client finds by the chart's digest; the tag still holds the chart exactly as
// helm push writes it, and publishing the same bytes again writes nothing.
func TestOCIPublishKeepsAttachmentsAsReferrers(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	cat := ociOpen(t, reg.Ref("charts"), oci.Options{PlainHTTP: true}, nil)
	pkg := ociTestPackage(t, t.TempDir(), "hello", "1.0.0", "")
	doc := []byte(`{"chart":"hello","to":"1.0.0","passed":true}` + "\n")
	const mediaType = "application/vnd.chartship.upgrade-test.v1+json"

	res, err := cat.Publish(ctx, pkg, catalogdef.Attachment{Name: "upgrade-test.json", MediaType: mediaType, Data: doc})
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	require.Len(t, res.Attached, 1)
	assert.True(t, strings.HasPrefix(res.Attached[0], strings.TrimPrefix(reg.Ref("charts"), "oci://")+"/hello@sha256:"), res.Attached[0])

	repo, err := remote.NewRepository(strings.TrimPrefix(reg.Ref("charts"), "oci://") + "/hello")
	require.NoError(t, err)
	repo.PlainHTTP = true
	chartDesc, err := repo.Resolve(ctx, "1.0.0")
	require.NoError(t, err)
	var refs []ocispec.Descriptor
	require.NoError(t, repo.Referrers(ctx, chartDesc, mediaType, func(ds []ocispec.Descriptor) error {
		refs = append(refs, ds...)
		return nil
	}))
	require.Len(t, refs, 1)
	assert.Equal(t, mediaType, refs[0].ArtifactType)
	assert.Equal(t, strings.SplitN(res.Attached[0], "@", 2)[1], refs[0].Digest.String())

	mb, err := content.FetchAll(ctx, repo, refs[0])
	require.NoError(t, err)
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(mb, &m))
	require.Len(t, m.Layers, 1)
	assert.Equal(t, "upgrade-test.json", m.Layers[0].Annotations[ocispec.AnnotationTitle])
	assert.Equal(t, chartDesc.Digest, m.Subject.Digest)
	got, err := content.FetchAll(ctx, repo.Blobs(), m.Layers[0])
	require.NoError(t, err)
	assert.Equal(t, doc, got)

	// The same bytes again: already published, nothing written, nothing attached twice.
	before := len(ociWrites(reg.Requests()))
	res, err = cat.Publish(ctx, pkg, catalogdef.Attachment{Name: "upgrade-test.json", MediaType: mediaType, Data: doc})
	require.NoError(t, err)
	assert.Equal(t, catalogdef.AlreadyPublished, res.Status)
	assert.Empty(t, res.Attached)
	assert.Equal(t, before, len(ociWrites(reg.Requests())))
}
