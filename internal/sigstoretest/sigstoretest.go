// Package sigstoretest runs, inside a test, a local stand-in for Sigstore's public
// services that speaks their APIs, for keyless signing tests (Fulcio and Rekor don't run
// as services on these machines: Rekor v1 needs Trillian and a database):
//
//	an OIDC issuer     Token mints ES256 identity tokens (iss, sub, email, aud sigstore, exp)
//	Fulcio (v2 API)    POST /api/v2/signingCert: checks the token and the proof of
//	                   possession, issues a 10-minute code-signing certificate from a
//	                   test CA with the SAN and the OIDC-issuer extensions Fulcio writes
//	Rekor (v1 API)     POST /api/v1/log/entries: canonicalizes the entry with Rekor's own
//	                   types, appends it to an RFC 6962 Merkle tree, and answers with the
//	                   inclusion proof, a signed checkpoint and a signed entry timestamp
//
// and writes the trusted_root.json (the CA, the log's key) that verifies what they issue.
// The crypto is the standard library's and Rekor's/sigstore's own helpers.
package sigstoretest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jsoncanonicalizer "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/golang-jwt/jwt/v5"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	// The entry kinds sigstore-go logs.
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
)

// Sigstore is the running stand-in. Its fields are read-only.
type Sigstore struct {
	URL         string // Fulcio's and Rekor's base URL (one server)
	Issuer      string // the OIDC issuer its tokens name
	TrustedRoot string // trusted_root.json verifying its certificates and log entries

	oidcKey *ecdsa.PrivateKey
	caKey   *ecdsa.PrivateKey
	caCert  *x509.Certificate
	logKey  signature.SignerVerifier
	logID   []byte

	mu      sync.Mutex
	tree    *testonly.Tree
	entries int
	certs   int
}

// New starts the stand-in for the duration of the test.
func New(t testing.TB) *Sigstore {
	t.Helper()
	s := &Sigstore{tree: testonly.New(rfc6962.DefaultHasher)}
	var err error
	s.oidcKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigstoretest CA", Organization: []string{"chartship tests"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true, MaxPathLen: 1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.caKey.Public(), s.caKey)
	require.NoError(t, err)
	s.caCert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	lk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s.logKey, err = signature.LoadECDSASignerVerifier(lk, crypto.SHA256)
	require.NoError(t, err)
	pkixDER, err := x509.MarshalPKIXPublicKey(lk.Public())
	require.NoError(t, err)
	id := sha256.Sum256(pkixDER)
	s.logID = id[:]

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", s.signingCert)
	mux.HandleFunc("POST /api/v1/log/entries", s.logEntry)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Issuer = srv.URL + "/oidc"

	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: s.caCert, ValidityPeriodStart: now.Add(-time.Hour), URI: s.URL}},
		nil, nil,
		map[string]*root.TransparencyLog{hex.EncodeToString(s.logID): {
			BaseURL: s.URL, ID: s.logID, ValidityPeriodStart: now.Add(-time.Hour),
			HashFunc: crypto.SHA256, PublicKey: lk.Public(), SignatureHashFunc: crypto.SHA256,
		}})
	require.NoError(t, err)
	b, err := tr.MarshalJSON()
	require.NoError(t, err)
	s.TrustedRoot = filepath.Join(t.TempDir(), "trusted_root.json")
	require.NoError(t, os.WriteFile(s.TrustedRoot, b, 0o644))
	return s
}

// Token mints an identity token for email, valid for ttl (negative: already expired).
func (s *Sigstore) Token(t testing.TB, email string, ttl time.Duration) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": s.Issuer, "sub": email, "email": email, "email_verified": true, "aud": "sigstore",
		"iat": time.Now().Add(-time.Minute).Unix(), "exp": time.Now().Add(ttl).Unix(),
	}).SignedString(s.oidcKey)
	require.NoError(t, err)
	return tok
}

// Counts returns how many certificates were issued and entries logged.
func (s *Sigstore) Counts() (certs, entries int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certs, s.entries
}

func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
}

// signingCert is Fulcio's POST /api/v2/signingCert.
func (s *Sigstore) signingCert(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return s.oidcKey.Public(), nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(s.Issuer), jwt.WithAudience("sigstore"), jwt.WithExpirationRequired())
	if err != nil {
		fail(w, http.StatusUnauthorized, "There was an error processing the identity token: "+err.Error())
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey         struct{ Algorithm, Content string }
			ProofOfPossession string
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "bad request: "+err.Error())
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		fail(w, http.StatusBadRequest, "bad public key: "+err.Error())
		return
	}
	email, _ := claims["email"].(string)
	pop, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	v, verr := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil || verr != nil || v.VerifySignature(strings.NewReader(string(pop)), strings.NewReader(email)) != nil {
		fail(w, http.StatusBadRequest, "the proof of possession does not verify")
		return
	}
	issuerV2, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(s.Issuer)})
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), NotBefore: now.Add(-time.Minute), NotAfter: now.Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{email},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(s.Issuer)},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerV2},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, pub, s.caKey)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.mu.Lock()
	s.certs++
	s.mu.Unlock()
	chain := []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.caCert.Raw})),
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

// logEntry is Rekor's POST /api/v1/log/entries.
func (s *Sigstore) logEntry(w http.ResponseWriter, r *http.Request) {
	pe, err := models.UnmarshalProposedEntry(r.Body, runtime.JSONConsumer())
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx := context.Background()
	leaf, err := types.CanonicalizeEntry(ctx, entry)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	s.tree.AppendData(leaf)
	size := s.tree.Size()
	index := size - 1
	proof, err := s.tree.InclusionProof(index, size)
	rootHash := s.tree.Hash()
	s.entries++
	s.mu.Unlock()
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	checkpoint, err := rekorutil.CreateAndSignCheckpoint(ctx, "rekor.sigstoretest", 1, size, rootHash, s.logKey)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	integrated := time.Now().Unix()
	body := base64.StdEncoding.EncodeToString(leaf)
	logID := hex.EncodeToString(s.logID)
	idx := int64(index)
	payload, _ := json.Marshal(map[string]any{"body": body, "integratedTime": integrated, "logIndex": idx, "logID": logID})
	canonical, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	set, err := s.logKey.SignMessage(strings.NewReader(string(canonical)))
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	hashes := make([]string, len(proof))
	for i, h := range proof {
		hashes[i] = hex.EncodeToString(h)
	}
	uuid := hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(leaf))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", fmt.Sprintf("%s/api/v1/log/entries/%s", s.URL, uuid))
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{uuid: map[string]any{
		"body": body, "integratedTime": integrated, "logID": logID, "logIndex": idx,
		"verification": map[string]any{
			"inclusionProof": map[string]any{
				"checkpoint": string(checkpoint), "hashes": hashes, "logIndex": idx,
				"rootHash": hex.EncodeToString(rootHash), "treeSize": int64(size),
			},
			"signedEntryTimestamp": base64.StdEncoding.EncodeToString(set),
		},
	}})
}
