package sign

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/redact"
)

// Sigstore's public-good instances, the defaults of the keyless flags.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
)

// KeylessOptions configure keyless signing: an OIDC token is exchanged at
// Fulcio for a short-lived certificate of an ephemeral key; each signature is
// logged in Rekor.
type KeylessOptions struct {
	// IDToken is the OIDC identity token (SIGSTORE_ID_TOKEN, or CircleCI's
	// CIRCLE_OIDC_TOKEN_V2); never logged. TokenSource names where it came
	// from, for messages.
	IDToken, TokenSource string
	FulcioURL, RekorURL  string
	// TrustedRoot is the trusted_root.json that verifies the pushed signature
	// (Fulcio's CA, Rekor's key); required.
	TrustedRoot string
	// Now is the clock tokens are checked against (tests); nil means time.Now.
	Now func() time.Time
}

// Validate checks the token's shape and expiry without sending it anywhere.
func (o *KeylessOptions) Validate() error {
	src := o.TokenSource
	if src == "" {
		src = "the OIDC token"
	}
	if o.IDToken == "" {
		return errdef.Usage(errors.New("--cosign-keyless needs an OIDC token: set SIGSTORE_ID_TOKEN (or, on CircleCI, CIRCLE_OIDC_TOKEN_V2)"))
	}
	if o.TrustedRoot == "" {
		return errdef.Usage(errors.New("--cosign-keyless needs --trusted-root FILE (the trusted_root.json of the Fulcio and Rekor it signs with) to verify the signature after the push"))
	}
	claims, err := tokenClaims(o.IDToken)
	if err != nil {
		return errdef.Usage(fmt.Errorf("%s is not a valid OIDC token (%v); give the raw JWT (header.payload.signature) your CI issues", src, err))
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if claims.Exp == 0 {
		return errdef.Usage(fmt.Errorf("%s has no expiry (exp); Fulcio refuses such tokens: use the token your CI issues for this job", src))
	}
	if exp := time.Unix(claims.Exp, 0); !now().Before(exp) {
		return errdef.Usage(fmt.Errorf("%s expired at %s; request a fresh one in this job (CircleCI refreshes CIRCLE_OIDC_TOKEN_V2 per job)", src, exp.UTC().Format(time.RFC3339)))
	}
	if claims.Iss == "" {
		return errdef.Usage(fmt.Errorf("%s names no issuer (iss)", src))
	}
	return nil
}

type jwtClaims struct {
	Iss   string `json:"iss"`
	Sub   string `json:"sub"`
	Email string `json:"email"`
	Exp   int64  `json:"exp"`
}

// tokenClaims reads a JWT's claims (the signature is Fulcio's to check).
func tokenClaims(tok string) (jwtClaims, error) {
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		return jwtClaims{}, fmt.Errorf("%d dot-separated parts, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return jwtClaims{}, errors.New("its payload is not base64url")
	}
	var c jwtClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return jwtClaims{}, errors.New("its payload is not JSON")
	}
	return c, nil
}

func (s *Signer) keylessSetup(o *KeylessOptions) error {
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return err
	}
	k := *o
	if k.FulcioURL == "" {
		k.FulcioURL = DefaultFulcioURL
	}
	if k.RekorURL == "" {
		k.RekorURL = DefaultRekorURL
	}
	if _, err := root.NewTrustedRootFromPath(k.TrustedRoot); err != nil {
		return errdef.Usage(fmt.Errorf("--trusted-root %s: %w", k.TrustedRoot, err))
	}
	s.keypair, s.keyless = kp, &k
	s.opts = sgsign.BundleOptions{
		CertificateProvider:        &onceCertificate{fulcio: sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: k.FulcioURL, Retries: 1})},
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: k.IDToken},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: k.RekorURL, Retries: 1, Version: 1})},
	}
	return nil
}

// onceCertificate asks Fulcio once per run: every statement of the run is
// signed with the same ephemeral key and certificate.
type onceCertificate struct {
	fulcio *sgsign.Fulcio
	mu     sync.Mutex
	der    []byte
}

func (c *onceCertificate) GetCertificate(ctx context.Context, kp sgsign.Keypair, o *sgsign.CertificateProviderOptions) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.der == nil {
		der, err := c.fulcio.GetCertificate(ctx, kp, o)
		if err != nil {
			return nil, err
		}
		c.der = der
	}
	return c.der, nil
}

// keylessIdentity gets the certificate and makes the verifier that checks what
// this run signs: the identity (SAN) and issuer Fulcio certified.
func (s *Signer) keylessIdentity(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verifier != nil {
		return nil
	}
	der, err := s.opts.CertificateProvider.GetCertificate(ctx, s.keypair, s.opts.CertificateProviderOptions)
	if err != nil {
		return s.keylessError(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return errdef.External(fmt.Errorf("the certificate from Fulcio %s doesn't parse: %w", s.keyless.FulcioURL, err))
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return errdef.External(fmt.Errorf("the certificate from Fulcio %s names no Fulcio identity: %w", s.keyless.FulcioURL, err))
	}
	v, err := NewVerifier(VerifyOptions{CertificateIdentity: sum.SubjectAlternativeName, CertificateOIDCIssuer: sum.Issuer, TrustedRoot: s.keyless.TrustedRoot})
	if err != nil {
		return err
	}
	s.verifier = v
	s.log.Info("keyless signing identity", "identity", sum.SubjectAlternativeName, "issuer", sum.Issuer)
	return nil
}

// keylessError names the service that refused and what to do, without the token.
func (s *Signer) keylessError(err error) error {
	msg := redact.String(err.Error(), s.keyless.IDToken)
	return errdef.External(fmt.Errorf("keyless signing failed (Fulcio %s, Rekor %s): %s; check that the OIDC token is fresh and meant for audience sigstore", s.keyless.FulcioURL, s.keyless.RekorURL, msg))
}
