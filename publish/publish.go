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
}

// Run publishes pkg to every target in parallel and returns one result per target,
// in the order of targets. A failure on one catalog does not stop the others; the
// returned error joins every failure (each names its catalog), so the caller sees
// all of them and a re-run finishes the job.
func Run(ctx context.Context, pkg *chart.Package, targets []Target, opts Options) ([]catalog.Result, error) {
	log := logging.OrDiscard(opts.Logger)
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
			results[i] = r
			log.Info(string(r.Status), "package", pkg.String(), "catalog", t.String(), "ref", r.Ref)
		}()
	}
	wg.Wait()
	return results, errdef.Join(errs...)
}
