// Package fluxtest is a test double of Flux's notification-controller webhook
// (a Receiver), for the tests of `chartship notify` and its library.
package fluxtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var hookPath = regexp.MustCompile(`^/hook/[0-9a-f]+$`)

// Receiver serves a Receiver's webhook and returns its base URL. It answers as
// notification-controller does: a POST to /hook/<hex> is accepted — a
// generic-hmac Receiver (token set) first recomputes the HMAC-SHA256 of the
// body with its token and compares it with X-Signature, answering 401 when it
// differs; a generic one (token "") accepts any body. Other paths are 404,
// except /fail/…, which answers 500 (a broken controller). got, if not nil,
// receives the body of the last request.
func Receiver(t testing.TB, token string, got *[]byte) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if got != nil {
			mu.Lock()
			*got = body
			mu.Unlock()
		}
		switch {
		case strings.HasPrefix(r.URL.Path, "/fail/"):
			http.Error(w, "receiver broken", http.StatusInternalServerError)
			return
		case r.Method != http.MethodPost || !hookPath.MatchString(r.URL.Path):
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if token != "" {
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
	return srv.URL
}
