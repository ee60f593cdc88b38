package oci

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/retry"
)

// baseTransport is the HTTP transport under the retries: TLS as asked.
func baseTransport(o Options) (http.RoundTripper, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	if o.PlainHTTP {
		return tr, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipTLSVerify} //nolint:gosec // only when asked
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("--ca-file: %w", err))
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errdef.Usage(fmt.Errorf("--ca-file %s: no PEM certificate in it", o.CAFile))
		}
		cfg.RootCAs = pool
	}
	tr.TLSClientConfig = cfg
	return tr, nil
}

// retryTransport retries what is worth retrying — 5xx, 429 (after its
// Retry-After), 408 and dropped connections — with jittered exponential
// backoff, at most `retries` times and never past the request context's
// deadline. Everything else, 401 and 403 above all, is returned at once.
type retryTransport struct {
	base   http.RoundTripper
	policy retry.Policy // Retries and the backoff between them
	log    *slog.Logger
	// idle abandons an attempt that makes no progress — no response headers,
	// no request or response body bytes — for this long (0: never); see
	// watchdog.go.
	idle time.Duration
}

const maxRetryAfter = 60 * time.Second

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		start := time.Now()
		resp, err := t.attempt(r)
		wait, again := t.decide(attempt, req, resp, err)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.log.Debug("http", "method", req.Method, "path", req.URL.Path, "status", status, "attempt", attempt+1, "took", time.Since(start).Round(time.Millisecond).String())
		if !again {
			return resp, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return resp, err // waiting would outlive the operation: give the caller what we have
		}
		why := ""
		if err != nil {
			why = uploadState.ReplaceAllString(err.Error(), "_state=…")
		} else {
			why = resp.Status
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		t.log.Info("retrying", "method", req.Method, "path", req.URL.Path, "reason", why, "attempt", attempt+1, "wait", wait.Round(time.Millisecond).String())
		if err := retry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		if check, ok := ctx.Value(beforeRetryKey{}).(func(context.Context) bool); ok && req.Method == http.MethodPut && !check(ctx) {
			t.log.Debug("not retrying: the state the request was meant to change has moved", "method", req.Method, "path", req.URL.Path)
			if err == nil {
				err = fmt.Errorf("%s %s: %s, not retried (the tag moved)", req.Method, req.URL.Path, why)
			}
			return nil, err
		}
	}
}

type beforeRetryKey struct{}

// withBeforeRetry makes the transport ask check before it retries a PUT made
// with the returned context: false means the retry would no longer do what the
// first try meant to (someone else wrote the tag), so the last error stands.
func withBeforeRetry(ctx context.Context, check func(context.Context) bool) context.Context {
	return context.WithValue(ctx, beforeRetryKey{}, check)
}

// decide says whether and after how long to retry.
func (t *retryTransport) decide(attempt int, req *http.Request, resp *http.Response, err error) (time.Duration, bool) {
	if attempt >= t.policy.Retries {
		return 0, false
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return 0, false // the body can't be sent again
	}
	if err != nil {
		if req.Context().Err() != nil || !retryableError(err) {
			return 0, false
		}
		return t.policy.Backoff(attempt), true
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusServiceUnavailable:
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After")); ok {
			return ra, true
		}
		return t.policy.Backoff(attempt), true
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return t.policy.Backoff(attempt), true
	}
	return 0, false
}

// parseRetryAfter parses Retry-After: seconds or an HTTP date.
func parseRetryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = max(time.Until(at), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// retryableError reports whether a transport error is a dropped or reset
// connection or a timeout — worth another try — rather than, say, a bad
// certificate or an unknown host.
func retryableError(err error) bool {
	var dns *net.DNSError
	switch {
	case isCertError(err):
		return false
	case errors.As(err, &dns):
		return dns.IsTemporary || dns.IsTimeout
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection reset", "broken pipe", "server closed", "transport connection broken", "EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
