package oci

import (
	"context"
	"errors"
	"net/url"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/chartship/chartship/internal/retry"
)

// The transport retries a request whose answer never came; an answer whose
// body broke off (a reset, a short body, a stall past --request-timeout)
// fails later, while it is read. readAgain retries such reads, with the same
// policy: a fetch either returns the verified bytes or fails, never a part.

// resolve is resolveOnce, read again after a broken body.
func (c *Catalog) resolve(ctx context.Context, repo *remote.Repository, tag string) (*stored, error) {
	var s *stored
	err := c.readAgain(ctx, func() error {
		var err error
		s, err = c.resolveOnce(ctx, repo, tag)
		return err
	})
	return s, err
}

// fetchBlob is fetchBlobOnce, read again after a broken body.
func (c *Catalog) fetchBlob(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor) ([]byte, error) {
	var data []byte
	err := c.readAgain(ctx, func() error {
		var err error
		data, err = c.fetchBlobOnce(ctx, repo, desc)
		return err
	})
	return data, err
}

// readAgain runs read until it succeeds, fails for a reason other than a
// broken body, or the retries are spent.
func (c *Catalog) readAgain(ctx context.Context, read func() error) error {
	err := retry.Do(ctx, c.opts.retryPolicy(), func(attempt int) error {
		err := read()
		if err != nil && ctx.Err() == nil && brokenBody(err) {
			c.log.Info("retrying a read whose answer broke off", "attempt", attempt+1, "reason", c.redactString(err.Error()))
			return retry.Again(err)
		}
		return err
	})
	var spent *retry.Exhausted
	if errors.As(err, &spent) {
		return spent.Err
	}
	return err
}

// brokenBody reports an answer that broke off or arrived damaged. A request
// that got no answer at all (a *url.Error from the HTTP client) was retried by
// the transport already.
func brokenBody(err error) bool {
	var stalled *StalledError
	var noAnswer *url.Error
	if errors.As(err, &noAnswer) {
		return false
	}
	return errors.As(err, &stalled) || errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData) ||
		(!isAuth(err) && retryableError(err))
}
