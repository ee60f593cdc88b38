// Package registrytest runs a real OCI registry (github.com/distribution/distribution/v3,
// in-memory storage) inside a test process, over plain HTTP or TLS, with no auth,
// htpasswd basic auth, or token auth shaped like Azure Container Registry (ACR).
//
// In ACR mode the same TLS host also serves what ACR and Azure AD serve:
//
//	/oauth2/exchange                 AAD access token → ACR refresh token
//	/oauth2/token                    refresh token (POST) or basic auth (GET) → registry JWT
//	/aad/{tenant}/oauth2/v2.0/token  a small Azure AD: client credentials and client
//	                                 assertions → AAD access token (see Registry.AADAuthority)
//
// The registry trusts the JWTs through a jwks file, exactly as a production
// distribution registry behind a token server does, so the whole AAD → refresh →
// access flow runs for real.
//
// Every request is recorded (Requests) and may be failed on purpose (InjectFaults):
// a 500, a 429 with Retry-After, or a dropped connection.
package registrytest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"golang.org/x/crypto/bcrypt"

	"github.com/chartship/chartship/internal/localregistry"

	// Registered by import: the auth backends used here.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
)

// Registry is a running in-process registry. Its fields are read-only.
type Registry struct {
	// Host is host:port, as it appears in references (HOST/NAMESPACE/chart:tag).
	Host string
	// URL is the base URL: http://HOST or https://HOST.
	URL string
	// PlainHTTP is true when the registry speaks HTTP rather than HTTPS.
	PlainHTTP bool
	// CAFile is a PEM file with the certificate the TLS registry presents ("" for
	// plain HTTP). Pass it as --ca-file.
	CAFile string
	// TLS is a client TLS configuration that trusts the registry (nil for plain HTTP).
	TLS *tls.Config
	// Username and Password are the credentials the registry accepts (htpasswd
	// mode: basic auth on /v2/; ACR mode: the admin user, basic auth on /oauth2/token).
	Username, Password string
	// ACR is set in ACR mode.
	ACR *ACR

	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []Request
	faults FaultFunc
}

// Request is one HTTP request the registry received.
type Request struct {
	Method string
	Path   string // URL path (no query)
	Query  string
	Status int  // status sent; 0 when the connection was dropped
	Fault  bool // the response was an injected fault
}

// IsWrite reports whether the request would change the registry (uploads,
// manifest or tag writes, deletes).
func (r Request) IsWrite() bool {
	if !strings.HasPrefix(r.Path, "/v2/") {
		return false
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

type config struct {
	tls            bool
	username, pass string
	acr            *ACRConfig
	maxTags        int
}

// Option configures New.
type Option func(*config)

// WithTLS serves HTTPS with a certificate trusted through Registry.CAFile and
// Registry.TLS. ACR mode and htpasswd mode imply it.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithHtpasswd requires HTTP basic auth with this user and password (over TLS).
func WithHtpasswd(username, password string) Option {
	return func(c *config) { c.tls, c.username, c.pass = true, username, password }
}

// WithMaxTags caps how many tags one tags-list page returns (ACR: 1000); a client
// must follow the Link header for the rest.
func WithMaxTags(n int) Option { return func(c *config) { c.maxTags = n } }

// New starts a registry for the duration of the test.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}

	r := &Registry{PlainHTTP: !c.tls, Username: c.username, Password: c.pass}
	mux := http.NewServeMux()
	r.srv = httptest.NewUnstartedServer(r.front(mux))
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshake noise from clients that don't trust us on purpose
	r.Host = r.srv.Listener.Addr().String()
	dir := t.TempDir()

	lr := localregistry.Options{MaxTags: c.maxTags}

	switch {
	case c.acr != nil:
		c.tls = true
		r.PlainHTTP = false
		acr, err := newACR(r, *c.acr, dir)
		if err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		r.ACR = acr
		r.Username, r.Password = c.acr.AdminUsername, c.acr.AdminPassword
		lr.Auth = configuration.Auth{"token": configuration.Parameters{
			"realm":   "https://" + r.Host + "/oauth2/token",
			"service": r.Host,
			"issuer":  acrIssuer,
			"jwks":    acr.jwksFile,
		}}
		acr.routes(mux)
	case c.username != "":
		hash, err := bcrypt.GenerateFromPassword([]byte(c.pass), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("registrytest: hashing password: %v", err)
		}
		file := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(file, []byte(c.username+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		lr.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "registrytest", "path": file}}
	}

	ctx, cancel := context.WithCancel(context.Background())
	app := localregistry.Handler(ctx, lr)
	mux.Handle("/v2/", app)
	mux.Handle("/v2", app)

	if c.tls {
		r.srv.StartTLS()
		cert := r.srv.Certificate()
		r.CAFile = filepath.Join(dir, "ca.pem")
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
		if err := os.WriteFile(r.CAFile, pemBytes, 0o600); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		r.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		r.URL = "https://" + r.Host
	} else {
		r.srv.Start()
		r.URL = "http://" + r.Host
	}
	t.Cleanup(func() {
		r.srv.CloseClientConnections()
		r.srv.Close()
		cancel()
	})
	return r
}

// Ref returns the oci:// reference of a namespace in this registry.
func (r *Registry) Ref(namespace string) string { return "oci://" + r.Host + "/" + namespace }

// Client returns an HTTP client that trusts the registry's certificate.
func (r *Registry) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = r.TLS
	return &http.Client{Transport: tr}
}

// Requests returns the requests received so far, in order.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// RegistryRequests returns the requests received so far on the registry API
// (/v2/…), leaving out token and AAD endpoints.
func (r *Registry) RegistryRequests() []Request {
	var out []Request
	for _, q := range r.Requests() {
		if strings.HasPrefix(q.Path, "/v2") {
			out = append(out, q)
		}
	}
	return out
}

// ResetRequests forgets the requests recorded so far.
func (r *Registry) ResetRequests() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// Fault is what to do instead of serving a request.
type Fault struct {
	Status     int    // respond with this status (e.g. 500, 429, 408)
	RetryAfter string // Retry-After header value, if any
	Drop       bool   // close the connection without any response
	// DropAfterServing lets the registry handle the request, then closes the
	// connection instead of answering: the write happened, the client can't know.
	DropAfterServing bool
}

// FaultFunc decides, for the n-th request (1-based, counting every request the
// registry received), whether to inject a fault. Nil means serve normally.
type FaultFunc func(n int, req *http.Request) *Fault

// InjectFaults sets (or, with nil, clears) the fault function.
func (r *Registry) InjectFaults(f FaultFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = f
}

// FailMatching returns a FaultFunc injecting fault on the first `times` requests
// whose method is method ("" for any) and whose path contains pathPart.
func FailMatching(method, pathPart string, times int, fault Fault) FaultFunc {
	var mu sync.Mutex
	left := times
	return func(_ int, req *http.Request) *Fault {
		if (method != "" && req.Method != method) || !strings.Contains(req.URL.Path, pathPart) {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if left <= 0 {
			return nil
		}
		left--
		f := fault
		return &f
	}
}

// front records every request and injects faults before the registry sees it.
func (r *Registry) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery})
		i := len(r.reqs) - 1
		faults := r.faults
		r.mu.Unlock()
		var f *Fault
		if faults != nil {
			f = faults(i+1, req)
		}
		set := func(status int, fault bool) {
			r.mu.Lock()
			r.reqs[i].Status, r.reqs[i].Fault = status, fault
			r.mu.Unlock()
		}
		drop := func() {
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("registrytest: connection cannot be hijacked")
			}
			conn, _, err := hj.Hijack()
			if err != nil {
				return
			}
			raw := conn
			if tc, ok := conn.(*tls.Conn); ok {
				raw = tc.NetConn()
			}
			if tc, ok := raw.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, not a polite close
			}
			raw.Close()
		}
		switch {
		case f != nil && f.Drop:
			set(0, true)
			drop()
		case f != nil && f.DropAfterServing:
			next.ServeHTTP(httptest.NewRecorder(), req)
			set(0, true)
			drop()
		case f != nil:
			set(f.Status, true)
			_, _ = io.Copy(io.Discard, req.Body)
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			fmt.Fprintf(w, `{"errors":[{"code":"UNKNOWN","message":"registrytest: injected %d"}]}`, f.Status)
		default:
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, req)
			set(sw.status, false)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
