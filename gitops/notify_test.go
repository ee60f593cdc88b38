package gitops

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
)

// receiver behaves like Flux's notification-controller webhook: a generic-hmac
// Receiver recomputes the HMAC of the body with its token and compares it with
// X-Signature (sha1, sha256 or sha512); a generic one accepts any POST.
func receiver(t *testing.T, typ, token string, got *[]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/hook/0123456789abcdef" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		*got = body
		if typ == ReceiverGenericHMAC {
			algo, sig, ok := strings.Cut(r.Header.Get("X-Signature"), "=")
			mac := hmac.New(sha256.New, []byte(token))
			mac.Write(body)
			if !ok || algo != "sha256" || !hmac.Equal([]byte(sig), []byte(hex.EncodeToString(mac.Sum(nil)))) {
				http.Error(w, "unable to validate HMAC signature", http.StatusUnauthorized)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestNotifyGenericHMAC(t *testing.T) {
	var got []byte
	srv := receiver(t, ReceiverGenericHMAC, "receiver-secret", &got)
	payload := []byte(`{"chart":"hello-world","version":"1.3.0"}`)
	res, err := Notify(context.Background(), srv.URL+"/hook/0123456789abcdef", NotifyOptions{Token: "receiver-secret", Payload: payload})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.Status)
	assert.True(t, res.Signed)
	assert.Equal(t, payload, got)
	assert.NotContains(t, res.Receiver, "0123456789abcdef", "the secret hook path is shortened")

	_, err = Notify(context.Background(), srv.URL+"/hook/0123456789abcdef", NotifyOptions{Token: "wrong-secret"})
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.Contains(t, err.Error(), "401")
	assert.NotContains(t, err.Error(), "wrong-secret")

	_, err = Notify(context.Background(), srv.URL+"/hook/0123456789abcdef", NotifyOptions{})
	require.ErrorIs(t, err, errdef.ErrUsage, "generic-hmac without a token")
}

func TestNotifyGeneric(t *testing.T) {
	var got []byte
	srv := receiver(t, ReceiverGeneric, "", &got)
	res, err := Notify(context.Background(), srv.URL+"/hook/0123456789abcdef", NotifyOptions{Type: ReceiverGeneric})
	require.NoError(t, err)
	assert.False(t, res.Signed)
	assert.Equal(t, "{}", string(got))

	_, err = Notify(context.Background(), srv.URL+"/hook/nope", NotifyOptions{Type: ReceiverGeneric})
	require.ErrorIs(t, err, errdef.ErrExternal)
	assert.Contains(t, err.Error(), "404")

	_, err = Notify(context.Background(), "ftp://x", NotifyOptions{Type: ReceiverGeneric})
	require.ErrorIs(t, err, errdef.ErrUsage)
}

func TestSignKnownVector(t *testing.T) {
	// echo -n '{}' | openssl dgst -sha256 -hmac key
	assert.Equal(t, "sha256=a777724d943eb48dc69bca8a4a6d57a04db3f9ec7e1de4e581e860265bdf3032", Sign("key", []byte("{}")))
}
