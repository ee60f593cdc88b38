// Package publish pushes one package to several catalogs at once. Each catalog
// publish is idempotent, so a publish that failed half-way is finished by running
// it again: catalogs that already hold the package report AlreadyPublished and the
// rest are written.
package publish

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/sign"
)

// Target is a catalog to publish to.
type Target interface {
	catalog.Publisher
	String() string
}

// Options configure a publish run.
type Options struct {
	Logger *slog.Logger
	// Parallel bounds how many catalogs are written at once; 0 means all.
	Parallel int
	// Attachments go to every catalog beside the package (the upgrade test's
	// result; see catalog.Attachment).
	Attachments []catalog.Attachment
	// Sign signs the chart in every OCI registry it is published to (cosign:
	// a sigstore bundle referrer, see package sign), with Attestations beside
	// the signature. The zero value signs nothing. The key is read before
	// anything is pushed; a catalog where signing fails fails the run, and a
	// re-run adds what is missing.
	Sign         sign.Options
	Attestations []sign.Predicate
}

// Run publishes pkg to every target in parallel and returns one result per target,
// in the order of targets. A failure on one catalog does not stop the others; the
// returned error joins every failure (each names its catalog), so the caller sees
// all of them and a re-run finishes the job.
func Run(ctx context.Context, pkg *chart.Package, targets []Target, opts Options) ([]catalog.Result, error) {
	log := logging.OrDiscard(opts.Logger)
	var signer *sign.Signer
	if opts.Sign.Enabled() {
		so := opts.Sign
		if so.Logger == nil {
			so.Logger = log
		}
		s, err := sign.New(so)
		if err != nil {
			return nil, err
		}
		signer = s
	}
	results := make([]catalog.Result, len(targets))
	errs := make([]error, len(targets))
	limit := opts.Parallel
	if limit <= 0 || limit > len(targets) {
		limit = len(targets)
	}
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			log.Info("publishing", "package", pkg.String(), "catalog", t.String())
			r, err := t.Publish(ctx, pkg, opts.Attachments...)
			if err != nil {
				errs[i] = fmt.Errorf("publishing %s to %s: %w", pkg, t, err)
				log.Error("publish failed", "package", pkg.String(), "catalog", t.String(), "error", err.Error())
				return
			}
			log.Info(string(r.Status), "package", pkg.String(), "catalog", t.String(), "ref", r.Ref)
			if st, ok := t.(sign.Store); ok && signer != nil {
				sigs, err := signer.Sign(ctx, st, pkg.Name(), pkg.Version(), opts.Attestations...)
				r.Signatures = sigs
				if err != nil {
					errs[i] = fmt.Errorf("signing %s in %s (the chart is published; run again to add the signature): %w", pkg, t, err)
					log.Error("signing failed", "package", pkg.String(), "catalog", t.String(), "error", err.Error())
				}
			}
			results[i] = r
		}()
	}
	wg.Wait()
	return results, errdef.Join(errs...)
}
