package oci

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"
	"helm.sh/helm/v3/pkg/helmpath"
	orasErrdef "oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/redact"
)

// acrUsername is the user name ACR expects with a refresh token from /oauth2/exchange.
const acrUsername = "00000000-0000-0000-0000-000000000000"

// defaultAADScope is the AAD scope whose tokens ACR's /oauth2/exchange accepts.
const defaultAADScope = "https://management.azure.com/.default"

// aadTimeout bounds one Azure AD token request.
const aadTimeout = 30 * time.Second

// credentialSource finds the credential for a registry, in this order: explicit
// username/password, Docker's config (and its credential helpers), Helm's
// registry config, Azure AD for ACR. It remembers which source it used so that
// errors can name it.
type credentialSource struct {
	host   string
	opts   Options
	client *http.Client // retrying, TLS-configured; for /oauth2/exchange
	log    *slog.Logger

	mu     sync.Mutex
	source string // the source used last, for messages
	acr    *acr
	known  []string // secrets seen so far, masked in every message
}

func newCredentials(host string, o Options, client *http.Client, log *slog.Logger) (*credentialSource, error) {
	c := &credentialSource{host: host, opts: o, client: client, log: log, source: "no credentials (anonymous)"}
	c.known = []string{o.Password, o.ACR.Token}
	acr, err := newACR(host, o, client, log, c.addSecret)
	if err != nil {
		return nil, err
	}
	c.acr = acr
	return c, nil
}

func (c *credentialSource) addSecret(s string) {
	if s == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known = append(c.known, s)
}

func (c *credentialSource) secretList() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.known...)
}

func (c *credentialSource) secrets() []string { return c.secretList() }

func (c *credentialSource) setSource(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.source = s
}

// Source names where the credential came from, without any secret.
func (c *credentialSource) Source() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.source
}

// credential is the oras auth.CredentialFunc: called when the registry
// challenges, never for an anonymous registry.
func (c *credentialSource) credential(ctx context.Context, hostport string) (auth.Credential, error) {
	if c.opts.Username != "" {
		c.setSource("--username/--password")
		return auth.Credential{Username: c.opts.Username, Password: c.opts.Password}, nil
	}
	for _, f := range credentialFiles() {
		store, err := credentials.NewStore(f.path, credentials.StoreOptions{})
		if err != nil {
			c.log.Debug("skipping credential file", "file", f.path, "error", err.Error())
			continue
		}
		cred, err := store.Get(ctx, credentials.ServerAddressFromRegistry(hostport))
		if err != nil {
			return auth.EmptyCredential, errdef.External(fmt.Errorf("reading credentials for %s from %s %s: %w", hostport, f.name, f.path, err))
		}
		if cred != auth.EmptyCredential {
			c.addSecret(cred.Password)
			c.addSecret(cred.RefreshToken)
			c.addSecret(cred.AccessToken)
			c.setSource(f.name + " " + f.path)
			return cred, nil
		}
	}
	if c.acr != nil {
		c.setSource(c.acr.source)
		rt, err := c.acr.refreshToken(ctx)
		if err != nil {
			return auth.EmptyCredential, err
		}
		return auth.Credential{Username: acrUsername, RefreshToken: rt}, nil
	}
	c.setSource("no credentials (anonymous)")
	return auth.EmptyCredential, nil
}

type credentialFile struct{ name, path string }

// credentialFiles are Docker's config ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json) and Helm's registry config ($HELM_REGISTRY_CONFIG or
// ~/.config/helm/registry/config.json).
func credentialFiles() []credentialFile {
	var out []credentialFile
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		out = append(out, credentialFile{"docker config", d + "/config.json"})
	} else if home, err := os.UserHomeDir(); err == nil {
		out = append(out, credentialFile{"docker config", home + "/.docker/config.json"})
	}
	helm := os.Getenv("HELM_REGISTRY_CONFIG")
	if helm == "" {
		helm = helmpath.ConfigPath("registry/config.json")
	}
	return append(out, credentialFile{"helm registry config", helm})
}

// acr turns an Azure AD token into an ACR refresh token at /oauth2/exchange
// and keeps it for its life.
type acr struct {
	host, scheme string
	tenant       string
	scope        string
	cred         azcore.TokenCredential
	source       string
	client       *http.Client
	log          *slog.Logger
	addSecret    func(string)

	mu      sync.Mutex
	refresh string
	expires time.Time
}

// newACR returns nil when Azure AD is not to be used for this registry.
func newACR(host string, o Options, client *http.Client, log *slog.Logger, addSecret func(string)) (*acr, error) {
	a := &acr{host: host, scheme: "https", tenant: o.ACR.TenantID, scope: o.ACR.Scope, client: client, log: log, addSecret: addSecret}
	if o.PlainHTTP {
		a.scheme = "http"
	}
	if a.scope == "" {
		a.scope = defaultAADScope
	}
	mode := strings.ToLower(o.ACR.Auth)
	switch {
	case o.ACR.Credential != nil:
		a.cred, a.source = o.ACR.Credential, "Azure AD (credential given by the caller)"
		return a, nil
	case o.ACR.Token != "":
		a.cred, a.source = staticToken(o.ACR.Token), "Azure AD (access token given directly)"
		return a, nil
	case mode == "off":
		return nil, nil
	case mode == "" || mode == "auto":
		if !isACRHost(host) {
			return nil, nil
		}
	}
	copts := azcore.ClientOptions{Transport: client}
	authority := o.ACR.AuthorityHost
	if authority == "" {
		authority = os.Getenv("AZURE_AUTHORITY_HOST")
	}
	disableDiscovery := false
	if authority != "" {
		copts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: authority}
		// Instance discovery asks login.microsoftonline.com about the authority;
		// a private authority isn't known there.
		disableDiscovery = !knownAuthority(authority)
	}
	var err error
	switch mode {
	case "environment":
		a.source = "Azure AD (environment service principal)"
		a.cred, err = azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: disableDiscovery})
	case "workload-identity":
		a.source = "Azure AD (workload identity)"
		a.cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: disableDiscovery, ClientID: o.ACR.ClientID, TenantID: o.ACR.TenantID})
	case "managed-identity":
		a.source = "Azure AD (managed identity)"
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: copts}
		if o.ACR.ClientID != "" {
			mo.ID = azidentity.ClientID(o.ACR.ClientID)
		}
		a.cred, err = azidentity.NewManagedIdentityCredential(mo)
	case "", "auto":
		a.source = "Azure AD (environment, workload identity or managed identity)"
		var chain []azcore.TokenCredential
		if c, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: disableDiscovery}); err == nil {
			chain = append(chain, c)
		}
		if c, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: disableDiscovery, ClientID: o.ACR.ClientID, TenantID: o.ACR.TenantID}); err == nil {
			chain = append(chain, c)
		}
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: copts}
		if o.ACR.ClientID != "" {
			mo.ID = azidentity.ClientID(o.ACR.ClientID)
		}
		if c, err := azidentity.NewManagedIdentityCredential(mo); err == nil {
			chain = append(chain, c)
		}
		if len(chain) == 0 {
			return nil, nil
		}
		a.cred, err = azidentity.NewChainedTokenCredential(chain, nil)
	default:
		return nil, errdef.Usage(fmt.Errorf("--azure-auth %q: use auto, environment, workload-identity, managed-identity or off", o.ACR.Auth))
	}
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("setting up %s for %s: %w", a.source, host, err))
	}
	return a, nil
}

func isACRHost(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	for _, s := range []string{".azurecr.io", ".azurecr.cn", ".azurecr.us", ".azurecr.de"} {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

func knownAuthority(authority string) bool {
	for _, c := range []cloud.Configuration{cloud.AzurePublic, cloud.AzureChina, cloud.AzureGovernment} {
		if strings.TrimSuffix(strings.ToLower(authority), "/") == strings.TrimSuffix(strings.ToLower(c.ActiveDirectoryAuthorityHost), "/") {
			return true
		}
	}
	return false
}

// refreshToken returns the cached ACR refresh token, or exchanges a fresh AAD
// token for a new one. Tokens are kept until five minutes before they expire.
func (a *acr) refreshToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refresh != "" && time.Now().Before(a.expires) {
		return a.refresh, nil
	}
	opts := policy.TokenRequestOptions{Scopes: []string{a.scope}, TenantID: a.tenant}
	// Off Azure, a managed identity probe can hang on an unroutable address;
	// don't let it eat the whole operation's budget.
	aadCtx, cancel := context.WithTimeout(ctx, aadTimeout)
	tok, err := a.cred.GetToken(aadCtx, opts)
	cancel()
	if err != nil {
		return "", errdef.External(fmt.Errorf("getting an Azure AD token for %s from %s: %w; check the AZURE_* environment or --azure-auth", a.host, a.source, err))
	}
	a.addSecret(tok.Token)
	form := url.Values{"grant_type": {"access_token"}, "service": {a.host}, "access_token": {tok.Token}}
	if a.tenant != "" {
		form.Set("tenant", a.tenant)
	}
	endpoint := a.scheme + "://" + a.host + "/oauth2/exchange"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.client.Do(req)
	if err != nil {
		return "", errdef.External(fmt.Errorf("exchanging the Azure AD token at %s: %w", endpoint, scrub(err, tok.Token)))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		kind := errdef.External
		return "", kind(fmt.Errorf("registry %s refused the Azure AD token from %s at /oauth2/exchange: %s; check that the identity has the AcrPush (or AcrPull) role on the registry", a.host, a.source, resp.Status))
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.RefreshToken == "" {
		return "", errdef.External(fmt.Errorf("registry %s: /oauth2/exchange gave no refresh token (%s)", a.host, resp.Status))
	}
	a.addSecret(out.RefreshToken)
	a.refresh = out.RefreshToken
	a.expires = tokenExpiry(out.RefreshToken, tok.ExpiresOn).Add(-5 * time.Minute)
	a.log.Debug("exchanged Azure AD token for an ACR refresh token", "source", a.source, "expires", a.expires.Format(time.RFC3339))
	return a.refresh, nil
}

// forget drops the cached refresh token.
func (a *acr) forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refresh, a.expires = "", time.Time{}
}

// tokenExpiry reads the exp claim of a JWT without verifying it (the
// registry verifies; we only want to know how long to keep it), else fallback.
func tokenExpiry(token string, fallback time.Time) time.Time {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err == nil && claims.ExpiresAt != nil {
		return claims.ExpiresAt.Time
	}
	if fallback.IsZero() {
		return time.Now().Add(time.Hour)
	}
	return fallback
}

// staticToken is an AAD access token given directly.
type staticToken string

func (t staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(t), ExpiresOn: tokenExpiry(string(t), time.Now().Add(time.Hour))}, nil
}

// isTransient reports whether err is the kind of failure retries are for.
func isTransient(err error) bool {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode == http.StatusTooManyRequests || er.StatusCode == http.StatusRequestTimeout || er.StatusCode >= 500
	}
	return !errors.Is(err, context.DeadlineExceeded) && retryableError(err)
}

func isCertError(err error) bool {
	var cert *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	return errors.As(err, &cert) || errors.As(err, &unknownAuthority) || errors.As(err, &hostname)
}

// isNotFound reports whether a registry said 404 (tag, manifest or repository unknown).
func isNotFound(err error) bool {
	if errors.Is(err, orasErrdef.ErrNotFound) {
		return true
	}
	var er *errcode.ErrorResponse
	return errors.As(err, &er) && er.StatusCode == http.StatusNotFound
}

// isAuth reports whether a registry or its token service refused us (401/403).
func isAuth(err error) bool {
	var er *errcode.ErrorResponse
	return errors.Is(err, auth.ErrBasicCredentialNotFound) ||
		errors.As(err, &er) && (er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden)
}

// fail turns an error from the registry into one a person can act on: it says
// what was tried, names the credential source on auth failures, is classified
// as an external failure, and carries no secret.
func (c *Catalog) fail(what string, err error) error {
	var kindErr error
	switch {
	case errdef.Kind(err) != nil:
		kindErr = fmt.Errorf("%s: %w", what, err)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		kindErr = errdef.External(fmt.Errorf("%s: registry %s speaks plain HTTP, not HTTPS: pass --plain-http (local test registries only): %w", what, c.host, err))
	case c.opts.PlainHTTP && strings.Contains(err.Error(), "HTTP request to an HTTPS server"):
		kindErr = errdef.External(fmt.Errorf("%s: registry %s speaks HTTPS: drop --plain-http: %w", what, c.host, err))
	case isCertError(err):
		kindErr = errdef.External(fmt.Errorf("%s: the TLS certificate of %s is not trusted; give its CA with --ca-file (or, for a throwaway test registry only, --insecure-skip-tls-verify): %w", what, c.host, err))
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		kindErr = errdef.External(fmt.Errorf("%s: registry %s wants a user name and password and found %s; log in with `helm registry login %s` or pass --username and --password: %w",
			what, c.host, c.creds.Source(), c.host, err))
	case isAuth(err):
		if c.creds.acr != nil {
			c.creds.acr.forget() // a refused refresh token is no use; the next operation exchanges afresh
		}
		var er *errcode.ErrorResponse
		errors.As(err, &er)
		kindErr = errdef.External(fmt.Errorf("%s: registry %s refused the credentials from %s (%d %s); check them, or log in with `helm registry login %s` / pass --username and --password: %w",
			what, c.host, c.creds.Source(), er.StatusCode, http.StatusText(er.StatusCode), c.host, err))
	case isTransient(err):
		kindErr = errdef.External(fmt.Errorf("%s: registry %s kept failing and the retries ran out (--retries %d, --registry-timeout %s); run again later — a publish resumes where it stopped and never leaves a half-written tag: %w",
			what, c.host, max(c.opts.Retries, 0), c.opts.Timeout, err))
	case errors.Is(err, context.DeadlineExceeded):
		kindErr = errdef.External(fmt.Errorf("%s: gave up after %s (--registry-timeout); the registry %s is slow or unreachable: %w", what, c.opts.Timeout, c.host, err))
	default:
		kindErr = errdef.External(fmt.Errorf("%s: %w", what, err))
	}
	return scrub(kindErr, c.secrets()...)
}

func (c *Catalog) redactString(s string) string { return redact.String(s, c.secrets()...) }

// scrub returns err with every secret masked in its message; errors.Is and
// errors.As still see the original chain.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := uploadState.ReplaceAllString(redact.String(err.Error(), secrets...), "_state=…")
	if msg == err.Error() {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

// uploadState matches the opaque upload-session state registries put in
// upload URLs: long, meaningless to people, and not for logs.
var uploadState = regexp.MustCompile(`_state=[^"&\s]+`)

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
