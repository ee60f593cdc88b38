package sign_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/sigstoretest"
	"github.com/chartship/chartship/sign"
)

// TestKeylessAgainstLocalSigstore: keyless signing through a local Fulcio and Rekor
// (sigstoretest: a test CA and a Merkle-tree log speaking their APIs): one certificate
// for the run, one log entry per statement, each verified with the identity and issuer
// the certificate names; another identity is rejected; a second run adds nothing.
func TestKeylessAgainstLocalSigstore(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	reg := registrytest.New(t)
	cat, _ := published(t, reg, "hello", "1.1.0")
	keyless := func(token string) sign.Options {
		return sign.Options{Keyless: &sign.KeylessOptions{IDToken: token, TokenSource: "SIGSTORE_ID_TOKEN",
			FulcioURL: ss.URL, RekorURL: ss.URL, TrustedRoot: ss.TrustedRoot}}
	}
	s, err := sign.New(keyless(ss.Token(t, "ci@example.com", 5*time.Minute)))
	require.NoError(t, err)
	p, err := sign.UpgradeTestPredicate{Chart: "hello", Version: "1.1.0", From: []string{"1.0.0"}, Passed: true}.Predicate()
	require.NoError(t, err)
	sigs, err := s.Sign(ctx, cat, "hello", "1.1.0", p)
	require.NoError(t, err)
	require.Len(t, sigs, 2)
	assert.Equal(t, sign.Signed, sigs[0].Status)
	assert.Equal(t, sign.Signed, sigs[1].Status)
	certs, entries := ss.Counts()
	assert.Equal(t, 1, certs)
	assert.Equal(t, 2, entries)

	v, err := sign.NewVerifier(sign.VerifyOptions{CertificateIdentity: "ci@example.com", CertificateOIDCIssuer: ss.Issuer, TrustedRoot: ss.TrustedRoot})
	require.NoError(t, err)
	res, err := v.VerifyUpgrade(ctx, cat, "hello", "1.1.0", "1.0.0")
	require.NoError(t, err)
	assert.Len(t, res.Statements, 2)

	other, err := sign.NewVerifier(sign.VerifyOptions{CertificateIdentity: "someone@example.com", CertificateOIDCIssuer: ss.Issuer, TrustedRoot: ss.TrustedRoot})
	require.NoError(t, err)
	_, err = other.Verify(ctx, cat, "hello", "1.1.0")
	require.Error(t, err)
	assert.Equal(t, errdef.ErrCheck, errdef.Kind(err))
	assert.Contains(t, err.Error(), "identity someone@example.com")

	// Again, with a fresh token and key: nothing logged, nothing pushed.
	s, err = sign.New(keyless(ss.Token(t, "ci@example.com", 5*time.Minute)))
	require.NoError(t, err)
	sigs, err = s.Sign(ctx, cat, "hello", "1.1.0", p)
	require.NoError(t, err)
	assert.Equal(t, sign.AlreadySigned, sigs[0].Status)
	assert.Equal(t, sign.AlreadySigned, sigs[1].Status)
	_, entries = ss.Counts()
	assert.Equal(t, 2, entries)
}

// TestKeylessTokenRefusedByFulcio: a well-formed, unexpired token Fulcio refuses (a
// forged signature) fails before anything is pushed, naming Fulcio, without the token.
func TestKeylessTokenRefusedByFulcio(t *testing.T) {
	ss := sigstoretest.New(t)
	reg := registrytest.New(t)
	cat, _ := published(t, reg, "hello", "1.0.0")
	tok := ss.Token(t, "ci@example.com", 5*time.Minute)
	forged := tok[:strings.LastIndexByte(tok, '.')+1] + "AAAA" + tok[strings.LastIndexByte(tok, '.')+5:]
	s, err := sign.New(sign.Options{Keyless: &sign.KeylessOptions{IDToken: forged, FulcioURL: ss.URL, RekorURL: ss.URL, TrustedRoot: ss.TrustedRoot}})
	require.NoError(t, err)
	reg.ResetRequests()
	_, err = s.Sign(context.Background(), cat, "hello", "1.0.0")
	require.Error(t, err)
	assert.Equal(t, errdef.ErrExternal, errdef.Kind(err))
	assert.Contains(t, err.Error(), "Fulcio "+ss.URL)
	assert.NotContains(t, err.Error(), forged)
	assert.Zero(t, writes(reg.Requests()))
}

// TestKeylessSignerSharedByParallelPushes: publish.Run signs each OCI target in its own
// goroutine with one Signer; the run's certificate and verifier are set up once, safely
// (go test -race), and both registries get a verified signature.
func TestKeylessSignerSharedByParallelPushes(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.New(t)
	cats := []*oci.Catalog{}
	for range 2 {
		cat, _ := published(t, registrytest.New(t), "hello", "1.1.0")
		cats = append(cats, cat)
	}
	s, err := sign.New(sign.Options{Keyless: &sign.KeylessOptions{IDToken: ss.Token(t, "ci@example.com", 5*time.Minute),
		FulcioURL: ss.URL, RekorURL: ss.URL, TrustedRoot: ss.TrustedRoot}})
	require.NoError(t, err)
	errs := make([]error, len(cats))
	var wg sync.WaitGroup
	for i, cat := range cats {
		wg.Go(func() {
			sigs, err := s.Sign(ctx, cat, "hello", "1.1.0")
			if err == nil && (len(sigs) != 1 || sigs[0].Status != sign.Signed) {
				err = fmt.Errorf("signatures %v, want one signed", sigs)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	certs, entries := ss.Counts()
	assert.Equal(t, 1, certs, "one certificate for the run")
	assert.Equal(t, 2, entries)
	v, err := sign.NewVerifier(sign.VerifyOptions{CertificateIdentity: "ci@example.com", CertificateOIDCIssuer: ss.Issuer, TrustedRoot: ss.TrustedRoot})
	require.NoError(t, err)
	for _, cat := range cats {
		_, err := v.Verify(ctx, cat, "hello", "1.1.0")
		require.NoError(t, err)
	}
}
