package chart

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	helmchart "helm.sh/helm/v3/pkg/chart"
	helmcli "helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/chartship/chartship/internal/errdef"
)

// DependencyOptions configure building charts/ from Chart.yaml and Chart.lock,
// like `helm dependency build`. Empty paths take Helm's own defaults (and its
// HELM_* environment variables), so repositories added with `helm repo add`
// and `helm registry login` work.
type DependencyOptions struct {
	RepositoryConfig string // repositories.yaml
	RepositoryCache  string // cached repository indexes
	RegistryConfig   string // OCI registry credentials
	// SkipRefresh does not refresh repository indexes first (offline builds
	// whose indexes are cached).
	SkipRefresh bool
	// PlainHTTP talks HTTP, not HTTPS, to oci:// registries (local registries).
	PlainHTTP bool
}

// buildDependencies fills chartDir/charts/ like `helm dependency build`: from
// Chart.lock when present, else resolving Chart.yaml and writing Chart.lock.
// file:// dependencies need no network.
func buildDependencies(ctx context.Context, chartDir string, meta *helmchart.Metadata, opts DependencyOptions, log *slog.Logger) error {
	settings := helmcli.New()
	if opts.RepositoryConfig != "" {
		settings.RepositoryConfig = opts.RepositoryConfig
	}
	if opts.RepositoryCache != "" {
		settings.RepositoryCache = opts.RepositoryCache
	}
	if opts.RegistryConfig != "" {
		settings.RegistryConfig = opts.RegistryConfig
	}
	local := true
	for _, d := range meta.Dependencies {
		if !strings.HasPrefix(d.Repository, "file://") && d.Repository != "" {
			local = false
		}
	}
	man := &downloader.Manager{
		Out:              io.Discard,
		ChartPath:        chartDir,
		SkipUpdate:       opts.SkipRefresh || local,
		Getters:          getter.All(settings),
		RepositoryConfig: settings.RepositoryConfig,
		RepositoryCache:  settings.RepositoryCache,
	}
	if !local {
		ropts := []registry.ClientOption{registry.ClientOptCredentialsFile(settings.RegistryConfig), registry.ClientOptWriter(io.Discard)}
		if opts.PlainHTTP {
			ropts = append(ropts, registry.ClientOptPlainHTTP())
		}
		rc, err := registry.NewClient(ropts...)
		if err != nil {
			return errdef.Usage(fmt.Errorf("setting up the OCI registry client for dependencies (credentials %s): %w", settings.RegistryConfig, err))
		}
		man.RegistryClient = rc
	}
	log.Debug("building dependencies", "chart", chartDir, "count", len(meta.Dependencies), "offline", local)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := man.Build(); err != nil {
		msg := oneLine(err.Error())
		err = fmt.Errorf("building dependencies of %s (like `helm dependency build`): %s", chartDir, redactURLs(msg))
		if strings.Contains(msg, "no repository definition") {
			return errdef.Usage(fmt.Errorf("%w: add the repositories Chart.lock names with `helm repo add NAME URL` (as for `helm dependency build`), or delete Chart.lock to resolve from Chart.yaml", err))
		}
		if local || strings.Contains(msg, "out of sync") ||
			strings.Contains(msg, "can't get a valid version") || strings.Contains(msg, "not found") && strings.Contains(msg, "directory") {
			return errdef.Usage(fmt.Errorf("%w: fix Chart.yaml's dependencies (run `helm dependency update` when Chart.lock is out of sync)", err))
		}
		return errdef.External(fmt.Errorf("%w: check the repository is reachable and `helm repo add`/`helm registry login` was done", err))
	}
	return nil
}
