package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// StalledError is an attempt abandoned because nothing moved on the wire for
// After (--request-timeout). It is a timeout, retried as one.
type StalledError struct{ After time.Duration }

func (e *StalledError) Error() string {
	return fmt.Sprintf("no progress for %s (--request-timeout): the registry stopped answering", e.After)
}

// Timeout marks the stall as a timeout (net.Error), so it is retried.
func (e *StalledError) Timeout() bool { return true }

// Temporary is part of net.Error.
func (e *StalledError) Temporary() bool { return true }

var errStalled = errors.New("stalled")

// attempt is one round trip under the watchdog: the attempt's own context is
// cancelled when neither the request body is read, nor the headers come, nor
// the response body moves for t.idle. The response body keeps the watchdog
// until it is closed.
func (t *retryTransport) attempt(req *http.Request) (*http.Response, error) {
	if t.idle <= 0 {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{idle: t.idle}
	w.timer = time.AfterFunc(t.idle, func() { cancel(errStalled) })
	r := req.WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &watchedBody{rc: r.Body, w: w, ctx: ctx}
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		w.stop()
		if errors.Is(context.Cause(ctx), errStalled) {
			err = &StalledError{After: t.idle}
		}
		cancel(nil)
		return nil, err
	}
	w.kick()
	resp.Body = &watchedBody{rc: resp.Body, w: w, ctx: ctx, done: func() { cancel(nil) }}
	return resp, nil
}

type watchdog struct {
	idle    time.Duration
	timer   *time.Timer
	mu      sync.Mutex
	stopped bool
}

func (w *watchdog) kick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.timer.Reset(w.idle)
	}
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}

// watchedBody kicks the watchdog on every read that moves bytes and turns a
// read cut by the watchdog into a StalledError.
type watchedBody struct {
	rc   io.ReadCloser
	w    *watchdog
	ctx  context.Context
	done func()
	once sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.kick()
	}
	if err != nil && !errors.Is(err, io.EOF) && errors.Is(context.Cause(b.ctx), errStalled) {
		err = &StalledError{After: b.w.idle}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		if b.done != nil {
			b.w.stop()
			b.done()
		}
	})
	return err
}
