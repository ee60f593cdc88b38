package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"

	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/gitobj"
)

// Prune removes the selected versions' entries, archives, provenance files and
// -meta/ folders in one commit. The index is rewritten by helm's writer.
func (g *Catalog) Prune(ctx context.Context, opts catalogdef.PruneOptions) (catalogdef.PruneResult, error) {
	res := catalogdef.PruneResult{Catalog: g.name, DryRun: opts.DryRun}
	if opts.Match == nil {
		return res, errdef.Usage(errors.New("prune: a --match pattern is required (e.g. '-dev\\.'), so that releases are never pruned by accident"))
	}
	_, err := g.update(ctx, func(ctx context.Context, w *gitobj.View) ([]string, string, error) {
		res.Removed = nil
		p := filepath.Join(w.Dir, "index.yaml")
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
				if (len(opts.Charts) == 0 || slices.Contains(opts.Charts, name)) && catalogdef.Prunable(cv.Version) &&
					opts.Match.MatchString(cv.Version) && !cv.Created.IsZero() && cv.Created.Before(cutoff) {
					res.Removed = append(res.Removed, catalogdef.PrunedVersion{Chart: name, Version: cv.Version, Created: cv.Created})
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
		res.SortRemoved()
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
