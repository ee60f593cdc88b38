package sign

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/chartship/chartship/internal/errdef"
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
	fulcio, rekor := o.FulcioURL, o.RekorURL
	if fulcio == "" {
		fulcio = DefaultFulcioURL
	}
	if rekor == "" {
		rekor = DefaultRekorURL
	}
	claims, _ := tokenClaims(o.IDToken)
	identity := claims.Email
	if identity == "" {
		identity = claims.Sub
	}
	v, err := NewVerifier(VerifyOptions{CertificateIdentity: identity, CertificateOIDCIssuer: claims.Iss, TrustedRoot: o.TrustedRoot})
	if err != nil {
		return err
	}
	s.keypair, s.keyless, s.verifier = kp, o, v
	s.opts = sgsign.BundleOptions{
		CertificateProvider:        sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: fulcio, Retries: 1}),
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: o.IDToken},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: rekor, Retries: 1, Version: 1})},
	}
	return nil
}

// keylessError names the service that refused and what to do, without the token.
func (s *Signer) keylessError(err error) error {
	msg := err.Error()
	if tok := s.keyless.IDToken; tok != "" {
		msg = strings.ReplaceAll(msg, tok, "***")
	}
	return errdef.External(fmt.Errorf("keyless signing failed (Fulcio %s, Rekor %s): %s; check that the OIDC token is fresh and meant for audience sigstore", s.keyless.FulcioURL, s.keyless.RekorURL, msg))
}
