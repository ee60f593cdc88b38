package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"oras.land/oras-go/v2/registry/remote"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/retry"
)

// OCI registries offer no conditional tag write (distribution, ACR, GHCR,
// Harbor: a manifest PUT always wins), so two publishers that both found a tag
// absent would both write it and the last one would silently win. writeTag
// narrows that window to one round trip and then checks the outcome:
//
//  1. it reads the tag again right before the PUT (the blobs took a while);
//  2. before each retry of the PUT it reads the tag again, and stops retrying
//     when someone else wrote it;
//  3. after the PUT it waits a moment (settle: long enough for a racer's PUT
//     that was already on the wire to land) and reads the tag back.
//
// The read-back is the truth the caller reports: the tag holds our manifest
// (published), another manifest with the same chart (someone published the
// same chart at the same moment), or another chart (a conflict: the other
// publisher won).

// minSettle is the least writeTag waits between its PUT and the read-back;
// the wait grows with the registry's round-trip time.
const (
	minSettle = 50 * time.Millisecond
	maxSettle = 5 * time.Second
)

// writeTag writes layout's manifest under tag, unless the tag moved away from
// prev (nil: absent) since the caller looked, and returns what the tag holds
// afterwards (nil when it is absent).
func (c *Catalog) writeTag(ctx context.Context, repo *remote.Repository, layout *pushLayout, tag string, prev *stored) (*stored, error) {
	start := time.Now()
	cur, err := c.resolveOrNil(ctx, repo, tag)
	if err != nil {
		return nil, err
	}
	if !sameManifest(cur, prev) {
		return cur, nil // someone wrote the tag while the blobs went up
	}
	ours := layout.manifestDesc.Digest
	var stoppedBy *stored
	check := func(ctx context.Context) bool {
		now, err := c.resolveOrNil(ctx, repo, tag)
		if err != nil {
			return true // can't tell: retry as the transport would
		}
		if sameManifest(now, prev) {
			return true
		}
		stoppedBy = now // ours landed, or another publisher's
		return false
	}
	pushErr := repo.Manifests().PushReference(withBeforeRetry(ctx, check), layout.manifestDesc, bytes.NewReader(layout.manifest), tag)
	if pushErr != nil && (isAuth(pushErr) || ctx.Err() != nil) {
		return nil, c.fail(fmt.Sprintf("tagging %s:%s", repo.Reference, tag), pushErr)
	}
	if pushErr != nil && stoppedBy == nil {
		// The PUT failed for good; the tag may still have landed (an answer
		// lost on the way back): the read-back below tells.
		c.log.Debug("manifest PUT failed; reading the tag back", "tag", tag, "error", c.redactString(pushErr.Error()))
	}
	settle := min(max(minSettle, 2*time.Since(start)), maxSettle)
	if err := retry.Sleep(ctx, settle); err != nil {
		return nil, c.fail(fmt.Sprintf("tagging %s:%s", repo.Reference, tag), err)
	}
	got, err := c.resolveOrNil(ctx, repo, tag)
	if err != nil {
		return nil, err
	}
	if pushErr != nil && (got == nil || (got.desc.Digest != ours && sameManifest(got, prev))) {
		return nil, c.fail(fmt.Sprintf("tagging %s:%s", repo.Reference, tag), pushErr)
	}
	if got == nil {
		return nil, errdef.External(fmt.Errorf("tagging %s:%s: the registry accepted the manifest %s but the tag is absent when read back; run again", repo.Reference, tag, ours))
	}
	return got, nil
}

// resolveOrNil is resolve with an absent tag as nil.
func (c *Catalog) resolveOrNil(ctx context.Context, repo *remote.Repository, tag string) (*stored, error) {
	s, err := c.resolve(ctx, repo, tag)
	if errors.Is(err, catalogdef.ErrNotFound) {
		return nil, nil
	}
	return s, err
}

// sameManifest reports whether a and b (nil: absent) are the same tag state.
func sameManifest(a, b *stored) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.desc.Digest == b.desc.Digest
}

// raceConflict is the error of a publish whose tag write another publisher's
// different chart won.
func raceConflict(ref string, layout *pushLayout, got *stored) error {
	return errdef.Check(fmt.Errorf("%s: another publisher wrote a different chart to this tag at the same moment and won: the registry holds manifest %s (chart layer %s), this publish wrote manifest %s (chart layer %s); released versions are immutable: check which build should own the version, bump the chart version and publish again: %w",
		ref, got.desc.Digest, got.chart.Digest, layout.manifestDesc.Digest, layout.chart.Digest, catalogdef.ErrConflict))
}
