package registrytest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ACRUsername is the user name ACR expects with a refresh token obtained from
// /oauth2/exchange.
const ACRUsername = "00000000-0000-0000-0000-000000000000"

const (
	acrIssuer = "registrytest-acr"
	acrKeyID  = "registrytest-key"
)

// ACRConfig configures ACR mode.
type ACRConfig struct {
	// AdminUsername and AdminPassword are the registry's admin user: basic auth on
	// GET /oauth2/token, or grant_type=password on POST.
	AdminUsername, AdminPassword string
	// TenantID is the Azure AD tenant the fake AAD serves (default "registrytest-tenant").
	TenantID string
	// ClientID and ClientSecret are a service principal the fake AAD accepts with the
	// client-credentials grant.
	ClientID, ClientSecret string
	// FederatedToken is a workload-identity token (the content of
	// AZURE_FEDERATED_TOKEN_FILE) the fake AAD accepts as a client assertion for ClientID.
	FederatedToken string
	// ManagedIdentitySecret enables an App Service–style managed identity endpoint
	// (ACR.ManagedIdentityEndpoint): requests must carry it as X-IDENTITY-HEADER,
	// as azidentity does with IDENTITY_ENDPOINT and IDENTITY_HEADER set.
	ManagedIdentitySecret string
	// RefreshTokenTTL and AccessTokenTTL default to 3 hours and 1 hour, ACR's values.
	RefreshTokenTTL, AccessTokenTTL time.Duration
}

// WithACR serves token auth shaped like Azure Container Registry, plus a small
// Azure AD, on one TLS host.
func WithACR(cfg ACRConfig) Option {
	return func(c *config) {
		if cfg.TenantID == "" {
			cfg.TenantID = "registrytest-tenant"
		}
		if cfg.RefreshTokenTTL == 0 {
			cfg.RefreshTokenTTL = 3 * time.Hour
		}
		if cfg.AccessTokenTTL == 0 {
			cfg.AccessTokenTTL = time.Hour
		}
		c.acr, c.tls = &cfg, true
	}
}

// ACR is the token service and Azure AD of a registry in ACR mode.
type ACR struct {
	Config ACRConfig
	// AADAuthority is the authority host of the fake Azure AD (https://HOST/), for
	// azidentity's cloud configuration or AZURE_AUTHORITY_HOST.
	AADAuthority string
	// ManagedIdentityEndpoint is the managed identity endpoint (IDENTITY_ENDPOINT).
	ManagedIdentityEndpoint string

	reg      *Registry
	key      *rsa.PrivateKey
	jwksFile string

	mu        sync.Mutex
	aadTokens map[string]time.Time // AAD access token → expiry
	issued    []string             // every token minted, for leak tests
}

// IssuedTokens returns every token this ACR and its AAD have minted (AAD access
// tokens, refresh tokens, registry access tokens): secrets a client must never
// print.
func (a *ACR) IssuedTokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.issued...)
}

func newACR(r *Registry, cfg ACRConfig, dir string) (*ACR, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	a := &ACR{Config: cfg, AADAuthority: "https://" + r.Host + "/", ManagedIdentityEndpoint: "https://" + r.Host + "/msi/token",
		reg: r, key: key, aadTokens: map[string]time.Time{}}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": acrKeyID,
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}}
	data, err := json.Marshal(jwks)
	if err != nil {
		return nil, err
	}
	a.jwksFile = filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(a.jwksFile, data, 0o600); err != nil {
		return nil, err
	}
	return a, nil
}

// IssueAADToken returns a fresh Azure AD access token that /oauth2/exchange
// accepts: what `az account get-access-token` would print.
func (a *ACR) IssueAADToken() string { return a.issueAAD(time.Hour) }

func (a *ACR) issueAAD(ttl time.Duration) string {
	tok := "aad." + randomString()
	a.mu.Lock()
	a.aadTokens[tok] = time.Now().Add(ttl)
	a.issued = append(a.issued, tok)
	a.mu.Unlock()
	return tok
}

func (a *ACR) validAAD(tok string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.aadTokens[tok]
	return ok && time.Now().Before(exp)
}

func (a *ACR) routes(mux *http.ServeMux) {
	mux.HandleFunc("/", a.serve)
}

func (a *ACR) serve(w http.ResponseWriter, req *http.Request) {
	p := req.URL.Path
	switch {
	case p == "/oauth2/exchange" && req.Method == http.MethodPost:
		a.exchange(w, req)
	case p == "/oauth2/token":
		a.token(w, req)
	case p == "/msi/token" && req.Method == http.MethodGet:
		if a.Config.ManagedIdentitySecret == "" || req.Header.Get("X-IDENTITY-HEADER") != a.Config.ManagedIdentitySecret {
			aadError(w, "invalid_client", "managed identity: bad or missing X-IDENTITY-HEADER")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": a.issueAAD(time.Hour), "expires_in": 3600,
			"expires_on": time.Now().Add(time.Hour).Unix(), "token_type": "Bearer",
			"resource": req.URL.Query().Get("resource"),
		})
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration"):
		tenant := strings.Split(strings.TrimPrefix(p, "/"), "/")[0]
		base := "https://" + a.reg.Host + "/" + tenant
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                 base + "/v2.0",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
		})
	case strings.HasSuffix(p, "/oauth2/v2.0/token") && req.Method == http.MethodPost:
		a.aadToken(w, req)
	default:
		http.NotFound(w, req)
	}
}

// aadToken is Azure AD's token endpoint: client credentials with a secret or a
// client assertion (workload identity).
func (a *ACR) aadToken(w http.ResponseWriter, req *http.Request) {
	if err := req.ParseForm(); err != nil {
		aadError(w, "invalid_request", err.Error())
		return
	}
	f := req.PostForm
	tenant := strings.Split(strings.TrimPrefix(req.URL.Path, "/"), "/")[0]
	switch {
	case tenant != a.Config.TenantID:
		aadError(w, "invalid_tenant", "AADSTS90002: tenant not found")
	case f.Get("grant_type") != "client_credentials":
		aadError(w, "unsupported_grant_type", "only client_credentials here")
	case a.Config.ClientID == "" || f.Get("client_id") != a.Config.ClientID:
		aadError(w, "unauthorized_client", "AADSTS700016: application not found")
	case f.Get("client_secret") != "" && f.Get("client_secret") == a.Config.ClientSecret,
		f.Get("client_assertion") != "" && f.Get("client_assertion") == a.Config.FederatedToken:
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
			"access_token": a.issueAAD(time.Hour),
		})
	default:
		aadError(w, "invalid_client", "AADSTS7000215: invalid client secret provided")
	}
}

func aadError(w http.ResponseWriter, code, desc string) {
	status := http.StatusBadRequest
	if code == "invalid_client" || code == "unauthorized_client" {
		status = http.StatusUnauthorized
	}
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

// exchange trades an AAD access token for an ACR refresh token.
func (a *ACR) exchange(w http.ResponseWriter, req *http.Request) {
	if err := req.ParseForm(); err != nil {
		acrError(w, http.StatusBadRequest, err.Error())
		return
	}
	f := req.PostForm
	switch {
	case f.Get("grant_type") != "access_token" && f.Get("grant_type") != "access_token_refresh_token":
		acrError(w, http.StatusBadRequest, "grant_type must be access_token")
	case f.Get("service") != a.reg.Host:
		acrError(w, http.StatusBadRequest, "service must be "+a.reg.Host)
	case !a.validAAD(f.Get("access_token")):
		acrError(w, http.StatusUnauthorized, "invalid AAD access token")
	default:
		rt, err := a.sign(jwt.MapClaims{
			"iss": acrIssuer, "aud": a.reg.Host, "sub": ACRUsername, "grant_type": "refresh_token",
			"iat": time.Now().Unix(), "exp": time.Now().Add(a.Config.RefreshTokenTTL).Unix(),
			"jti": randomString(),
		})
		if err != nil {
			acrError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"refresh_token": rt})
	}
}

// token issues registry access tokens: GET with basic auth (admin user, or the
// refresh token as password), POST with grant_type=refresh_token or password.
func (a *ACR) token(w http.ResponseWriter, req *http.Request) {
	var service string
	var scopes []string
	var ok bool
	switch req.Method {
	case http.MethodGet:
		q := req.URL.Query()
		service, scopes = q.Get("service"), q["scope"]
		user, pass, has := req.BasicAuth()
		ok = has && (a.admin(user, pass) || (user == ACRUsername && a.validRefresh(pass)))
	case http.MethodPost:
		if err := req.ParseForm(); err != nil {
			acrError(w, http.StatusBadRequest, err.Error())
			return
		}
		f := req.PostForm
		service, scopes = f.Get("service"), f["scope"]
		switch f.Get("grant_type") {
		case "refresh_token":
			ok = a.validRefresh(f.Get("refresh_token"))
		case "password":
			ok = a.admin(f.Get("username"), f.Get("password"))
		}
	default:
		acrError(w, http.StatusMethodNotAllowed, "GET or POST")
		return
	}
	if !ok {
		acrError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	if service != a.reg.Host {
		acrError(w, http.StatusBadRequest, "service must be "+a.reg.Host)
		return
	}
	var access []map[string]any
	for _, s := range scopes {
		for _, one := range strings.Fields(s) {
			parts := strings.Split(one, ":")
			if len(parts) < 3 {
				continue
			}
			name := strings.Join(parts[1:len(parts)-1], ":")
			access = append(access, map[string]any{
				"type": parts[0], "name": name, "actions": strings.Split(parts[len(parts)-1], ","),
			})
		}
	}
	now := time.Now()
	tok, err := a.sign(jwt.MapClaims{
		"iss": acrIssuer, "aud": a.reg.Host, "sub": "registrytest", "access": access,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(a.Config.AccessTokenTTL).Unix(),
		"jti": randomString(),
	})
	if err != nil {
		acrError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token": tok, "expires_in": int(a.Config.AccessTokenTTL.Seconds()),
	})
}

func (a *ACR) admin(user, pass string) bool {
	return a.Config.AdminUsername != "" && user == a.Config.AdminUsername && pass == a.Config.AdminPassword
}

func (a *ACR) validRefresh(tok string) bool {
	t, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return &a.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(acrIssuer), jwt.WithAudience(a.reg.Host))
	if err != nil || !t.Valid {
		return false
	}
	c, _ := t.Claims.(jwt.MapClaims)
	return c["grant_type"] == "refresh_token"
}

func (a *ACR) sign(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = acrKeyID
	s, err := t.SignedString(a.key)
	if err == nil {
		a.mu.Lock()
		a.issued = append(a.issued, s)
		a.mu.Unlock()
	}
	return s, err
}

func acrError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": msg}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("registrytest: random: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
