package oci

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/errdef"
)

// Prune deletes the selected pre-release versions (dev builds) from the
// namespace: each tag whose version matches opts.Match and whose manifest was
// created (org.opencontainers.image.created, which a push stamps) more than
// opts.OlderThan ago. A release is never deleted, nor a version whose creation
// time is unknown. The charts are opts.Charts, else every repository the
// registry lists under the namespace.
func (c *Catalog) Prune(ctx context.Context, opts catalogdef.PruneOptions) (catalogdef.PruneResult, error) {
	res := catalogdef.PruneResult{Catalog: c.String(), DryRun: opts.DryRun, Removed: []catalogdef.PrunedVersion{}}
	if opts.Match == nil {
		return res, errdef.Usage(errors.New("prune: a --match pattern is required (e.g. '-dev\\.'), so that nothing is pruned by accident"))
	}
	charts := opts.Charts
	if len(charts) == 0 {
		var err error
		if charts, err = c.charts(ctx); err != nil {
			return res, err
		}
	}
	cutoff := time.Now().Add(-opts.OlderThan)
	for _, name := range charts {
		repo, err := c.repository(name)
		if err != nil {
			return res, err
		}
		versions, err := c.Versions(ctx, name)
		if errors.Is(err, catalogdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return res, err
		}
		for _, v := range versions {
			if !catalogdef.Prunable(v) || !opts.Match.MatchString(v) {
				continue
			}
			pruned, err := c.pruneTag(ctx, repo, name, v, cutoff, opts.DryRun)
			if err != nil {
				return res, err
			}
			if pruned != nil {
				res.Removed = append(res.Removed, *pruned)
			}
		}
	}
	res.SortRemoved()
	return res, nil
}

func (c *Catalog) pruneTag(ctx context.Context, repo *remote.Repository, name, version string, cutoff time.Time, dryRun bool) (*catalogdef.PrunedVersion, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendRepositoryScope(ctx, repo.Reference, auth.ActionPull, auth.ActionDelete)
	st, err := c.resolve(ctx, repo, tagOf(version))
	if err != nil {
		return nil, err
	}
	created, err := time.Parse(time.RFC3339, st.manifest.Annotations[ocispec.AnnotationCreated])
	if err != nil || !created.Before(cutoff) {
		return nil, nil // too young, or of unknown age: kept
	}
	pv := &catalogdef.PrunedVersion{Chart: name, Version: version, Created: created}
	if dryRun {
		return pv, nil
	}
	if err := repo.Manifests().Delete(ctx, st.desc); err != nil {
		return nil, c.fail(fmt.Sprintf("deleting %s:%s", repo.Reference, tagOf(version)), err)
	}
	c.log.Info("pruned", "chart", name, "version", version, "created", created)
	return pv, nil
}

// charts lists the repositories under the namespace (the registry's catalog API).
func (c *Catalog) charts(ctx context.Context) ([]string, error) {
	reg, err := remote.NewRegistry(c.host)
	if err != nil {
		return nil, errdef.Usage(err)
	}
	reg.Client, reg.PlainHTTP = c.client, c.opts.PlainHTTP
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendScopes(ctx, auth.ScopeRegistryCatalog)
	prefix := ""
	if c.namespace != "" {
		prefix = c.namespace + "/"
	}
	var out []string
	err = reg.Repositories(ctx, "", func(repos []string) error {
		for _, r := range repos {
			if rest, ok := strings.CutPrefix(r, prefix); ok && !strings.Contains(rest, "/") {
				out = append(out, rest)
			}
		}
		return nil
	})
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("registry %s does not list its repositories (%v): name the charts to prune with --chart", c.host, err))
	}
	if len(out) == 0 { // many registries list nothing rather than refuse
		return nil, errdef.Usage(fmt.Errorf("registry %s lists no repositories under %s: name the charts to prune with --chart", c.host, c))
	}
	slices.Sort(out)
	return out, nil
}
