// Package oci is a namespace in an OCI registry as a Helm chart catalog:
// charts live at NAMESPACE/<chart>:<version>, laid out exactly as helm push
// writes them. It publishes in as few round trips as the protocol allows,
// lists and fetches versions, and authenticates with explicit credentials,
// Docker's and Helm's logins, or Azure AD for ACR (auth.go); transient
// failures are retried in the HTTP transport (transport.go).
package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	orasErrdef "oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/atomicfile"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/redact"
	"github.com/chartship/chartship/internal/retry"
)

// Media types of a Helm chart in an OCI registry, as helm push writes them.
const (
	ConfigMediaType     = "application/vnd.cncf.helm.config.v1+json"
	ChartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	ProvLayerMediaType  = "application/vnd.cncf.helm.chart.provenance.v1.prov"
	// legacyChartLayerMediaType is what charts pushed by Helm < 3.7 carry.
	legacyChartLayerMediaType = "application/tar+gzip"
)

// Defaults of DefaultOptions; a zero Timeout or TagPageSize also means these.
const (
	DefaultTimeout     = 5 * time.Minute
	DefaultTagPageSize = 1000
)

// AzureAuthModes are the values ACROptions.Auth takes ("" means "auto").
var AzureAuthModes = []string{"auto", "environment", "workload-identity", "managed-identity", "off"}

// DefaultOptions are the options the CLI's flag defaults come from: retries
// as every remote makes them (internal/retry), Azure AD for ACR hosts.
func DefaultOptions() Options {
	return Options{
		Retries: retry.DefaultRetries, Timeout: DefaultTimeout, Backoff: retry.DefaultBase,
		RequestTimeout: retry.DefaultRequestTimeout, TagPageSize: DefaultTagPageSize, ACR: ACROptions{Auth: "auto"},
	}
}

// Validate reports options that contradict each other or are out of range.
func (o Options) Validate() error {
	switch {
	case o.Retries < 0:
		return errdef.Usage(fmt.Errorf("--retries %d: give 0 (never retry) or more", o.Retries))
	case o.Timeout < 0:
		return errdef.Usage(fmt.Errorf("--registry-timeout %s: give a positive duration such as 5m", o.Timeout))
	case o.RequestTimeout < 0:
		return errdef.Usage(fmt.Errorf("--request-timeout %s: give a positive duration such as 30s", o.RequestTimeout))
	case (o.Username == "") != (o.Password == ""):
		return errdef.Usage(errors.New("give both --username and --password (or CHARTSHIP_REGISTRY_USERNAME and CHARTSHIP_REGISTRY_PASSWORD), or neither"))
	case o.PlainHTTP && (o.InsecureSkipTLSVerify || o.CAFile != ""):
		return errdef.Usage(errors.New("--plain-http uses no TLS: drop --insecure-skip-tls-verify and --ca-file, or drop --plain-http"))
	case o.ACR.Auth != "" && !slices.Contains(AzureAuthModes, strings.ToLower(o.ACR.Auth)):
		return errdef.Usage(fmt.Errorf("--azure-auth %q: use one of %s", o.ACR.Auth, strings.Join(AzureAuthModes, ", ")))
	}
	return nil
}

// Options configure OCI registries.
type Options struct {
	// PlainHTTP talks HTTP instead of HTTPS (local test registries only).
	PlainHTTP bool
	// InsecureSkipTLSVerify accepts any TLS certificate. Only when asked.
	InsecureSkipTLSVerify bool
	// CAFile is a PEM bundle of extra CAs to trust (a private registry's CA).
	CAFile string

	// Username and Password authenticate explicitly (an ACR admin user or a
	// service principal): basic auth on the registry's token endpoint. Without
	// them, credentials come from Docker's config (incl. credential helpers), then
	// Helm's registry config, then Azure AD for ACR (see ACR).
	Username, Password string
	// ACR configures Azure AD authentication to Azure Container Registry.
	ACR ACROptions

	// Retries bounds how often one HTTP request is retried after a 5xx, 429, 408
	// or a dropped connection; 0 means never, as --retries 0 does
	// (DefaultOptions has the default).
	Retries int
	// Timeout bounds one whole operation (a publish, a fetch, a listing)
	// including retries and backoff; 0 means DefaultTimeout.
	Timeout time.Duration
	// RequestTimeout abandons one HTTP attempt that makes no progress (no
	// response headers, no body bytes either way) for this long, and retries
	// it; 0 means never (DefaultOptions has retry.DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Backoff is the first retry's wait, doubled (with jitter) on each retry up to
	// 30 times as long; 0 means 250ms. A Retry-After header wins.
	Backoff time.Duration

	// Force lets a publish overwrite a dev build (chart.IsDevBuild: 1.2.4-r…,
	// 1.2.3-dev.4) that holds different content, for dev charts in test
	// namespaces. Released versions, release candidates included, are never
	// overwritten.
	Force bool
	// TagPageSize is the page size asked for when listing tags (`n`); 0 means
	// DefaultTagPageSize, ACR's own limit.
	TagPageSize int
	Logger      *slog.Logger
}

// ACROptions configure Azure AD authentication to Azure Container Registry:
// an AAD access token is exchanged at https://REGISTRY/oauth2/exchange for an
// ACR refresh token, which then buys registry access tokens.
type ACROptions struct {
	// Auth picks where the AAD token comes from:
	//   ""/"auto"          for *.azurecr.io (and .cn, .us) hosts when no other
	//                      credential is found: environment service principal,
	//                      then workload identity, then managed identity
	//   "environment"      AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (or certificate)
	//   "workload-identity" AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID
	//   "managed-identity" the host's managed identity (ClientID for a user-assigned one)
	//   "off"              never use Azure AD
	// A Token, or a Credential, wins over Auth.
	Auth string
	// Token is an AAD access token given directly (`az account get-access-token`).
	Token string
	// Credential is an AAD token source built by the caller.
	Credential azcore.TokenCredential
	// TenantID is sent with the exchange and asked of AAD (optional).
	TenantID string
	// ClientID selects a user-assigned managed identity.
	ClientID string
	// AuthorityHost is the Azure AD authority for private or sovereign clouds
	// (default: AZURE_AUTHORITY_HOST, else the public cloud).
	AuthorityHost string
	// Scope is the AAD scope asked for; default "https://management.azure.com/.default".
	Scope string
}

// Catalog is a namespace in an OCI registry; charts live at NAMESPACE/<chart>.
type Catalog struct {
	host      string // registry host[:port]
	namespace string // may be empty
	opts      Options
	log       *slog.Logger
	client    *auth.Client
	creds     *credentialSource
	secrets   func() []string
	refRepos  sync.Map // chart → *remote.Repository of the referrer methods (referrers.go)
	emptyDone sync.Map // repositories this Catalog pushed the empty config blob to (once per run)
}

// Open returns the catalog oci://REGISTRY[/NAMESPACE] names.
func Open(ref string, opts Options) (*Catalog, error) {
	host, ns, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	o := opts
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", redactRef(ref), err)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Backoff <= 0 {
		o.Backoff = retry.DefaultBase
	}
	if o.TagPageSize <= 0 {
		o.TagPageSize = DefaultTagPageSize
	}
	log := logging.OrDiscard(o.Logger).With("registry", host)
	base, err := baseTransport(o)
	if err != nil {
		return nil, err
	}
	httpClient := &http.Client{Transport: &retryTransport{
		base:   base,
		policy: o.retryPolicy(),
		log:    log,
		idle:   o.RequestTimeout,
	}}
	c := &Catalog{host: host, namespace: ns, opts: o, log: log}
	c.creds, err = newCredentials(host, o, httpClient, log)
	if err != nil {
		return nil, err
	}
	c.secrets = c.creds.secrets
	c.client = &auth.Client{
		Client:     httpClient,
		Cache:      auth.NewCache(),
		Credential: c.creds.credential,
		ClientID:   "chartship",
		Header:     http.Header{"User-Agent": {"chartship"}},
	}
	return c, nil
}

// retryPolicy is the one policy of the catalog's retries: the transport's per
// request and readAgain's per broken body alike.
func (o Options) retryPolicy() retry.Policy {
	return retry.Policy{Retries: max(o.Retries, 0), Base: o.Backoff, Max: 30 * o.Backoff}
}

// parseRef splits oci://REGISTRY[/NAMESPACE] into its parts.
func parseRef(ref string) (host, namespace string, err error) {
	rest := strings.TrimPrefix(ref, "oci://")
	if at := strings.IndexByte(rest, '@'); at >= 0 && !strings.Contains(rest[:at], "/") {
		return "", "", errdef.Usage(fmt.Errorf("catalog %s: credentials don't belong in the reference; use --username/--password or a docker login", redactRef(ref)))
	}
	rest = strings.TrimSuffix(rest, "/")
	host, namespace, _ = strings.Cut(rest, "/")
	if host == "" {
		return "", "", errdef.Usage(fmt.Errorf("catalog %q: no registry; use oci://REGISTRY/NAMESPACE", ref))
	}
	// Every path segment must be a repository name component: "oci://h//"
	// (namespace "/") is refused, as "oci://h/a//b" is (found by make fuzz).
	probe := host + "/chart"
	if namespace != "" {
		probe = host + "/" + namespace + "/chart"
	}
	r, perr := registry.ParseReference(probe)
	if perr == nil && strings.HasSuffix(rest, "/") {
		perr = errors.New("an empty path segment")
	}
	if perr != nil || r.Reference != "" {
		return "", "", errdef.Usage(fmt.Errorf("catalog %q: not a registry namespace (want oci://REGISTRY/NAMESPACE, lower case, no tag or digest): %v", ref, perr))
	}
	return host, namespace, nil
}

// redactRef masks any userinfo (user:password@) in a reference's authority.
func redactRef(ref string) string {
	prefix, rest := "", ref
	if i := strings.Index(ref, "://"); i >= 0 {
		prefix, rest = ref[:i+3], ref[i+3:]
	}
	authority := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority = rest[:i]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		return prefix + redact.Mask + rest[at:]
	}
	return ref
}

func (c *Catalog) String() string {
	if c.namespace == "" {
		return "oci://" + c.host
	}
	return "oci://" + c.host + "/" + c.namespace
}

// tagOf is the OCI tag of a chart version: OCI tags can't hold '+'.
func tagOf(version string) string { return strings.ReplaceAll(version, "+", "_") }

func (c *Catalog) repository(chartName string) (*remote.Repository, error) {
	name := chartName
	if c.namespace != "" {
		name = c.namespace + "/" + chartName
	}
	ref := registry.Reference{Registry: c.host, Repository: name}
	if err := ref.Validate(); err != nil {
		return nil, errdef.Usage(fmt.Errorf("chart %q can't live in %s: %w", chartName, c, err))
	}
	return &remote.Repository{
		Client:          c.client,
		Reference:       ref,
		PlainHTTP:       c.opts.PlainHTTP,
		TagListPageSize: c.opts.TagPageSize,
		SkipReferrersGC: true,
	}, nil
}

// Versions lists the chart versions in the registry, oldest first. Tags that are
// not semantic versions (latest, signatures) are left out.
func (c *Catalog) Versions(ctx context.Context, chartName string) ([]string, error) {
	repo, err := c.repository(chartName)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendRepositoryScope(ctx, repo.Reference, auth.ActionPull)
	var versions []*semver.Version
	err = c.readAgain(ctx, func() error {
		versions = nil
		return repo.Tags(ctx, "", func(tags []string) error {
			for _, t := range tags {
				if v, err := semver.StrictNewVersion(strings.ReplaceAll(t, "_", "+")); err == nil {
					versions = append(versions, v)
				}
			}
			return nil
		})
	})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("listing versions of %s in %s: %w", chartName, c, catalogdef.ErrNotFound)
		}
		return nil, c.fail(fmt.Sprintf("listing versions of %s in %s", chartName, c), err)
	}
	slices.SortFunc(versions, func(a, b *semver.Version) int { return a.Compare(b) })
	out := make([]string, len(versions))
	for i, v := range versions {
		out[i] = v.Original()
	}
	c.log.Debug("listed versions", "chart", chartName, "count", len(out))
	return out, nil
}

// stored is what a tag holds, read from its manifest.
type stored struct {
	manifest ocispec.Manifest
	desc     ocispec.Descriptor // the manifest's descriptor
	chart    ocispec.Descriptor // the chart layer
	prov     *ocispec.Descriptor
}

// resolve reads the manifest a tag points at: one GET. A missing tag gives an
// error matching catalogdef.ErrNotFound.
func (c *Catalog) resolveOnce(ctx context.Context, repo *remote.Repository, tag string) (*stored, error) {
	desc, rc, err := repo.Manifests().FetchReference(ctx, tag)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%s:%s: %w", repo.Reference, tag, catalogdef.ErrNotFound)
		}
		return nil, c.fail(fmt.Sprintf("reading %s:%s", repo.Reference, tag), err)
	}
	defer rc.Close()
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, c.fail(fmt.Sprintf("reading manifest of %s:%s", repo.Reference, tag), err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, errdef.External(fmt.Errorf("%s:%s: manifest is not valid JSON: %w", repo.Reference, tag, err))
	}
	if m.Config.MediaType != ConfigMediaType {
		return nil, errdef.Check(fmt.Errorf("%s:%s is not a Helm chart (config media type %q, want %q): %w", repo.Reference, tag, m.Config.MediaType, ConfigMediaType, catalogdef.ErrConflict))
	}
	out := &stored{manifest: m, desc: desc}
	found := false
	for i, l := range m.Layers {
		switch l.MediaType {
		case ChartLayerMediaType, legacyChartLayerMediaType:
			out.chart, found = l, true
		case ProvLayerMediaType:
			out.prov = &m.Layers[i]
		}
	}
	if !found {
		return nil, errdef.Check(fmt.Errorf("%s:%s holds a Helm config but no chart layer: %w", repo.Reference, tag, catalogdef.ErrConflict))
	}
	return out, nil
}

// Fetch downloads a chart version into dir as <chart>-<version>.tgz (and its
// .prov beside it when the registry holds one) and returns the archive's path.
func (c *Catalog) Fetch(ctx context.Context, chartName, version, dir string) (string, error) {
	repo, err := c.repository(chartName)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendRepositoryScope(ctx, repo.Reference, auth.ActionPull)
	got, err := c.resolve(ctx, repo, tagOf(version))
	if err != nil {
		return "", err
	}
	data, err := c.fetchBlob(ctx, repo, got.chart)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, chartName+"-"+version+".tgz")
	if got.prov != nil {
		prov, err := c.fetchBlob(ctx, repo, *got.prov)
		if err != nil {
			return "", err
		}
		if err := writeFile(path+".prov", prov); err != nil {
			return "", err
		}
	}
	if err := writeFile(path, data); err != nil {
		return "", err
	}
	c.log.Debug("fetched", "chart", chartName, "version", version, "digest", got.chart.Digest.String())
	return path, nil
}

func (c *Catalog) fetchBlobOnce(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor) ([]byte, error) {
	rc, err := repo.Blobs().Fetch(ctx, desc)
	if err != nil {
		return nil, c.fail(fmt.Sprintf("downloading %s@%s", repo.Reference, desc.Digest), err)
	}
	defer rc.Close()
	data, err := content.ReadAll(rc, desc) // verifies size and digest
	if err != nil {
		return nil, c.fail(fmt.Sprintf("downloading %s@%s", repo.Reference, desc.Digest), err)
	}
	return data, nil
}

func writeFile(path string, data []byte) error {
	return errdef.Usage(atomicfile.Write(path, data, 0o644))
}

// pushLayout is a package laid out as helm push lays it out.
type pushLayout struct {
	config, chart ocispec.Descriptor
	prov          *ocispec.Descriptor
	blobs         map[digest.Digest][]byte
	manifest      []byte
	manifestDesc  ocispec.Descriptor
}

func newLayout(pkg *chart.Package, data, prov []byte, created time.Time) (*pushLayout, error) {
	cfg, err := json.Marshal(pkg.Metadata)
	if err != nil {
		return nil, fmt.Errorf("encoding chart config: %w", err)
	}
	p := &pushLayout{blobs: map[digest.Digest][]byte{}}
	add := func(mediaType string, b []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
		p.blobs[d.Digest] = b
		return d
	}
	p.config = add(ConfigMediaType, cfg)
	p.chart = add(ChartLayerMediaType, data)
	layers := []ocispec.Descriptor{p.chart}
	if prov != nil {
		d := add(ProvLayerMediaType, prov)
		p.prov = &d
		layers = append(layers, d)
	}
	// helm sorts layers by digest
	slices.SortFunc(layers, func(a, b ocispec.Descriptor) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	m := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      p.config,
		Layers:      layers,
		Annotations: annotationsOf(pkg, created),
	}
	p.manifest, err = json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	p.manifestDesc = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(p.manifest), Size: int64(len(p.manifest))}
	return p, nil
}

// annotationsOf are the manifest annotations helm push writes: the
// org.opencontainers.image.* ones from Chart.yaml, then the chart's own
// annotations (which can't override title or version).
func annotationsOf(pkg *chart.Package, created time.Time) map[string]string {
	md := pkg.Metadata
	a := map[string]string{}
	set := func(k, v string) {
		if strings.TrimSpace(v) != "" {
			a[k] = v
		}
	}
	set(ocispec.AnnotationDescription, md.Description)
	set(ocispec.AnnotationTitle, md.Name)
	set(ocispec.AnnotationVersion, md.Version)
	set(ocispec.AnnotationURL, md.Home)
	set(ocispec.AnnotationCreated, created.UTC().Format(time.RFC3339))
	if len(md.Sources) > 0 {
		set(ocispec.AnnotationSource, md.Sources[0])
	}
	if len(md.Maintainers) > 0 {
		var b strings.Builder
		for i, m := range md.Maintainers {
			b.WriteString(m.Name)
			if m.Email != "" {
				b.WriteString(" (" + m.Email + ")")
			}
			if i < len(md.Maintainers)-1 {
				b.WriteString(", ")
			}
		}
		set(ocispec.AnnotationAuthors, b.String())
	}
	for k, v := range md.Annotations {
		if k == ocispec.AnnotationTitle || k == ocispec.AnnotationVersion {
			continue
		}
		a[k] = v
	}
	return a
}

// Publish pushes the package as helm push would, in as few round trips as the
// protocol allows: one GET of the tag's manifest (the same chart layer there
// means catalogdef.AlreadyPublished, nothing written), then the config and chart (and
// provenance) blobs in parallel, then the manifest under the version's tag. The
// tag is written last, so an interrupted publish leaves no tag behind and a
// re-run finishes it.
//
// Each attachment becomes a referrer of the chart's manifest (see attach).
func (c *Catalog) Publish(ctx context.Context, pkg *chart.Package, attachments ...catalogdef.Attachment) (catalogdef.Result, error) {
	repo, err := c.repository(pkg.Name())
	if err != nil {
		return catalogdef.Result{}, err
	}
	tag := tagOf(pkg.Version())
	res := catalogdef.Result{
		Catalog: c.String(), Chart: pkg.Name(), Version: pkg.Version(),
		Ref: repo.Reference.String() + ":" + tag, Digest: pkg.Digest.String(),
	}
	data, err := pkg.Bytes()
	if err != nil {
		return catalogdef.Result{}, err
	}
	var prov []byte
	if pkg.ProvPath != "" {
		if prov, err = os.ReadFile(pkg.ProvPath); err != nil {
			return catalogdef.Result{}, errdef.Usage(fmt.Errorf("reading %s: %w", pkg.ProvPath, err))
		}
	}

	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	ctx = auth.AppendRepositoryScope(ctx, repo.Reference, auth.ActionPull, auth.ActionPush)

	existing, err := c.resolveOrNil(ctx, repo, tag)
	switch {
	case err != nil:
		return catalogdef.Result{}, err
	case existing == nil:
	case existing.chart.Digest == pkg.Digest:
		res.Status = catalogdef.AlreadyPublished
		res.Manifest = existing.desc.Digest.String()
		if (existing.prov == nil) != (prov == nil) || (prov != nil && existing.prov.Digest != digest.FromBytes(prov)) {
			res.Note = "the registry's provenance (.prov) differs from the local one; the chart itself is identical"
		}
		c.log.Debug("already published", "ref", res.Ref, "digest", res.Digest)
		return res, nil
	default:
		if !c.opts.Force || !chart.IsDevBuild(pkg.Version()) {
			hint := "released versions are immutable: bump the chart version and publish again"
			if c.opts.Force {
				hint = "--force only overwrites dev builds (like 1.2.4-r7b5b4fa7t20260112120959h1a2b3c4) in test namespaces; " + pkg.Version() + " is a release: bump the chart version"
			}
			return catalogdef.Result{}, errdef.Check(fmt.Errorf("%s already holds a different chart: registry chart layer %s, this package %s (%s): %w", res.Ref, existing.chart.Digest, pkg.Digest, hint, catalogdef.ErrConflict))
		}
		res.Note = fmt.Sprintf("--force: overwrote pre-release %s (was chart layer %s); --force only works for pre-release versions", pkg.Version(), existing.chart.Digest)
		c.log.Warn("overwriting pre-release", "ref", res.Ref, "old", existing.chart.Digest.String(), "new", pkg.Digest.String())
	}

	layout, err := newLayout(pkg, data, prov, time.Now())
	if err != nil {
		return catalogdef.Result{}, err
	}
	blobs := []ocispec.Descriptor{layout.config, layout.chart}
	if layout.prov != nil {
		blobs = append(blobs, *layout.prov)
	}
	errs := make([]error, len(blobs))
	var wg sync.WaitGroup
	for i, d := range blobs {
		wg.Go(func() { errs[i] = c.pushBlob(ctx, repo, d, layout.blobs[d.Digest]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return catalogdef.Result{}, err
	}
	got, err := c.writeTag(ctx, repo, layout, tag, existing)
	switch {
	case err != nil:
		return catalogdef.Result{}, err
	case got.desc.Digest == layout.manifestDesc.Digest:
		res.Status = catalogdef.Published
	case got.chart.Digest == pkg.Digest:
		res.Status, res.Note = catalogdef.AlreadyPublished, "another publisher wrote the same chart to this tag at the same moment"
	default:
		return catalogdef.Result{}, raceConflict(res.Ref, layout, got)
	}
	res.Manifest = got.desc.Digest.String()
	c.log.Debug("published", "ref", res.Ref, "digest", res.Digest, "manifest", got.desc.Digest.String())
	for _, a := range attachments {
		d, err := c.attach(ctx, repo, got.desc, a)
		if err != nil {
			return res, fmt.Errorf("%s is published, but attaching %s failed (publish again to finish: the chart reports already published): %w", res.Ref, a.Name, err)
		}
		res.Attached = append(res.Attached, repo.Reference.String()+"@"+d.String())
	}
	return res, nil
}

// attach stores a as a referrer of the chart manifest subject: an OCI 1.1
// image manifest with artifactType a.MediaType, the empty config, one layer
// holding a.Data (titled a.Name) and subject pointing at the chart. Clients
// find it with the referrers API (oras discover, or GET
// /v2/<repo>/referrers/<digest>); on a registry without that API oras-go keeps
// the referrers tag (sha256-<digest>) instead. Signatures and attestations
// (cosign, notation) are referrers of the same manifest, so a later signed
// attestation of the upgrade test sits beside this document.
func (c *Catalog) attach(ctx context.Context, repo *remote.Repository, subject ocispec.Descriptor, a catalogdef.Attachment) (digest.Digest, error) {
	empty := ocispec.DescriptorEmptyJSON
	layer := ocispec.Descriptor{
		MediaType: a.MediaType, Digest: digest.FromBytes(a.Data), Size: int64(len(a.Data)),
		Annotations: map[string]string{ocispec.AnnotationTitle: a.Name},
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: a.MediaType,
		Config:       ocispec.Descriptor{MediaType: empty.MediaType, Digest: empty.Digest, Size: empty.Size},
		Layers:       []ocispec.Descriptor{layer},
		Subject:      &subject,
		Annotations:  map[string]string{ocispec.AnnotationCreated: time.Now().UTC().Format(time.RFC3339)},
	}
	maps.Copy(m.Annotations, a.Annotations)
	mb, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encoding the manifest of %s: %w", a.Name, err)
	}
	if _, done := c.emptyDone.Load(repo.Reference.Repository); !done {
		if err := c.pushBlob(ctx, repo, m.Config, empty.Data); err != nil {
			return "", err
		}
		c.emptyDone.Store(repo.Reference.Repository, true)
	}
	if err := c.pushBlob(ctx, repo, layer, a.Data); err != nil {
		return "", err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb)), ArtifactType: a.MediaType}
	if err := repo.Manifests().Push(ctx, desc, bytes.NewReader(mb)); err != nil {
		return "", c.fail(fmt.Sprintf("attaching %s to %s@%s", a.Name, repo.Reference, subject.Digest), err)
	}
	return desc.Digest, nil
}

// pushBlob uploads one blob (POST + PUT). When the upload fails after the
// transport's own retries — say the PUT landed but its answer was lost, so the
// retried PUT finds the upload session gone — the blob may still be there: one
// HEAD tells, and one fresh upload is tried otherwise.
func (c *Catalog) pushBlob(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, data []byte) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		err = repo.Blobs().Push(ctx, desc, bytes.NewReader(data))
		if err == nil || errors.Is(err, orasErrdef.ErrAlreadyExists) {
			return nil
		}
		if isAuth(err) || ctx.Err() != nil {
			break
		}
		if ok, xerr := repo.Blobs().Exists(ctx, desc); xerr == nil && ok {
			c.log.Debug("blob present after a failed upload", "digest", desc.Digest.String())
			return nil
		}
		c.log.Debug("blob upload failed; starting a new upload", "digest", desc.Digest.String(), "error", c.redactString(err.Error()))
	}
	return c.fail(fmt.Sprintf("uploading %s to %s", desc.Digest, repo.Reference), err)
}
