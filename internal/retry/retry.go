// Package retry is the one retry and backoff policy of every remote chartship
// talks to: OCI registries (per HTTP request), git catalogs and GitOps
// repositories (per push the remote rejected because the branch moved).
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults of DefaultPolicy. With 8 publishers racing for one branch, 8 rounds
// always suffice.
const (
	DefaultRetries = 8
	DefaultBase    = 250 * time.Millisecond
	DefaultMax     = 10 * time.Second

	// DefaultRequestTimeout is how long one attempt at a remote (an HTTP
	// request to a registry, a git transfer) may make no progress before it
	// is abandoned and retried like a dropped connection: --request-timeout.
	DefaultRequestTimeout = 30 * time.Second
)

// Policy bounds retries. The zero value never retries.
type Policy struct {
	// Retries is how many times a failed attempt is tried again; 0 (or less)
	// means never.
	Retries int
	// Base is the wait before the first retry, doubled for each one after it up
	// to Max; 0 means DefaultBase.
	Base time.Duration
	// Max caps one wait; 0 means DefaultMax.
	Max time.Duration
	// OnRetry, when set, is told about each retry before its wait.
	OnRetry func(attempt int, wait time.Duration, err error)
}

// DefaultPolicy is the policy the CLI's --retries starts from.
func DefaultPolicy() Policy {
	return Policy{Retries: DefaultRetries, Base: DefaultBase, Max: DefaultMax}
}

// Backoff is the wait before retry number attempt (0 for the first):
// Base·2^attempt capped at Max, with "equal jitter" — half fixed, half random —
// so clients that collided spread out.
func (p Policy) Backoff(attempt int) time.Duration {
	base, limit := p.Base, p.Max
	if base <= 0 {
		base = DefaultBase
	}
	if limit <= 0 {
		limit = DefaultMax
	}
	d := base << min(max(attempt, 0), 16)
	if d > limit || d <= 0 {
		d = limit
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d or until ctx ends, whichever is first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// again marks an error worth another attempt.
type again struct{ err error }

func (a *again) Error() string { return a.err.Error() }
func (a *again) Unwrap() error { return a.err }

// Again marks err as worth another attempt: Do retries it while retries remain.
// Nil stays nil.
func Again(err error) error {
	if err == nil {
		return nil
	}
	return &again{err: err}
}

// Exhausted is what Do returns when every attempt failed with an error marked
// Again: how many attempts were made, and the last error.
type Exhausted struct {
	Attempts int
	Err      error
}

func (e *Exhausted) Error() string {
	return fmt.Sprintf("%d attempts failed: %v", e.Attempts, e.Err)
}
func (e *Exhausted) Unwrap() error { return e.Err }

// Do runs op (attempt 0, 1, …) until it returns nil or an error not marked
// Again, waiting p.Backoff between attempts. When the retries are spent it
// returns an *Exhausted holding op's last error; when ctx ends while waiting,
// ctx's error.
func Do(ctx context.Context, p Policy, op func(attempt int) error) error {
	for attempt := 0; ; attempt++ {
		err := op(attempt)
		var a *again
		if !errors.As(err, &a) {
			return err
		}
		if attempt >= p.Retries {
			return &Exhausted{Attempts: attempt + 1, Err: a.err}
		}
		wait := p.Backoff(attempt)
		if p.OnRetry != nil {
			p.OnRetry(attempt+1, wait, a.err)
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
