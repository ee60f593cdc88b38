package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/internal/errdef"
)

// Pruner removes old versions from a catalog (test catalogs collect dev builds).
type Pruner interface {
	Prune(ctx context.Context, opts PruneOptions) (PruneResult, error)
}

// PruneOptions select the versions to remove: every version matching Match
// whose entry was created more than OlderThan ago.
type PruneOptions struct {
	Match     *regexp.Regexp // matched against the version, e.g. `-dev\.`
	OlderThan time.Duration
	DryRun    bool // list what would go, change nothing
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

// Prune removes the selected versions' entries, archives, provenance files and
// -meta/ folders in one commit. The index is rewritten by helm's writer.
func (g *gitCatalog) Prune(ctx context.Context, opts PruneOptions) (PruneResult, error) {
	res := PruneResult{Catalog: g.name, DryRun: opts.DryRun}
	if opts.Match == nil {
		return res, errdef.Usage(errors.New("prune: a --match pattern is required (e.g. '-dev\\.'), so that releases are never pruned by accident"))
	}
	_, err := g.update(ctx, func(ctx context.Context, w *gitWork) ([]string, string, error) {
		res.Removed = nil
		p := filepath.Join(w.dir, "index.yaml")
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return nil, "", nil
		}
		idx, err := repo.LoadIndexFile(p)
		if err != nil {
			return nil, "", errdef.Check(fmt.Errorf("catalog %s: index.yaml is not a valid Helm index: %w", g.name, err))
		}
		cutoff := g.now().Add(-opts.OlderThan)
		var files []string
		for name, cvs := range idx.Entries {
			kept := cvs[:0]
			for _, cv := range cvs {
				if opts.Match.MatchString(cv.Version) && !cv.Created.IsZero() && cv.Created.Before(cutoff) {
					res.Removed = append(res.Removed, PrunedVersion{Chart: name, Version: cv.Version, Created: cv.Created})
					files = append(files, gitArchiveName(cv))
					continue
				}
				kept = append(kept, cv)
			}
			if len(kept) == 0 {
				delete(idx.Entries, name)
			} else {
				idx.Entries[name] = kept
			}
		}
		sort.Slice(res.Removed, func(i, j int) bool {
			a, b := res.Removed[i], res.Removed[j]
			return a.Chart < b.Chart || a.Chart == b.Chart && a.Version < b.Version
		})
		if opts.DryRun || len(res.Removed) == 0 {
			return nil, "", nil
		}
		// The archives, provenance files and -meta/ folders go (names missing
		// from the staging directory are deleted from the tree).
		names := []string{"index.yaml"}
		for _, f := range files {
			names = append(names, f, f+".prov", f+"-meta")
		}
		idx.Generated = g.now()
		idx.SortEntries()
		if err := idx.WriteFile(p, 0o644); err != nil {
			return nil, "", fmt.Errorf("writing index.yaml: %w", err)
		}
		return names, fmt.Sprintf("Prune %d versions matching %s older than %s", len(res.Removed), opts.Match, opts.OlderThan), nil
	})
	return res, err
}

// gitArchiveName is the archive's path in the catalog: the file its url names.
func gitArchiveName(cv *repo.ChartVersion) string {
	if len(cv.URLs) > 0 {
		if u, err := url.Parse(cv.URLs[0]); err == nil && path.Base(u.Path) != "." && path.Base(u.Path) != "/" {
			return path.Base(u.Path)
		}
	}
	return cv.Name + "-" + cv.Version + ".tgz"
}
