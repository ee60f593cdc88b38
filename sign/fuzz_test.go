package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
)

// FuzzVerifyBundle: whatever a registry serves as a bundle, verification returns an
// error (nothing unsigned verifies) and never panics.
func FuzzVerifyBundle(f *testing.F) {
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`))
	f.Add([]byte(`not json`))
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(pk, crypto.SHA256)
	if err != nil {
		f.Fatal(err)
	}
	v, err := newKeyVerifier(sv)
	if err != nil {
		f.Fatal(err)
	}
	subject := ocispec.Descriptor{Digest: digest.FromString("chart")}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := v.verifyBundle(data, subject); err == nil {
			t.Fatalf("an unsigned bundle verified: %q", data)
		}
	})
}

// FuzzTokenValidate: any token string is accepted or refused without a panic, and a
// refusal never echoes the token.
func FuzzTokenValidate(f *testing.F) {
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2kiLCJleHAiOjk5OTk5OTk5OTl9.c2ln")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		o := &KeylessOptions{IDToken: tok, TokenSource: "SIGSTORE_ID_TOKEN", TrustedRoot: "x", Now: func() time.Time { return time.Unix(1e9, 0) }}
		if err := o.Validate(); err != nil && len(tok) > 8 && strings.Contains(err.Error(), tok) {
			t.Fatalf("the error echoes the token: %v", err)
		}
	})
}
