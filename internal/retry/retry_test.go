package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: 3 * time.Second}
	seen := map[time.Duration]bool{}
	for attempt := range 40 {
		d := p.Backoff(attempt)
		assert.Positive(t, d)
		assert.LessOrEqual(t, d, 3*time.Second)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 10, "jittered")
	assert.LessOrEqual(t, p.Backoff(0), 100*time.Millisecond)
	assert.GreaterOrEqual(t, p.Backoff(0), 50*time.Millisecond)
}

func TestDoRetriesOnlyWhatIsMarkedAgain(t *testing.T) {
	ctx := context.Background()
	fast := Policy{Retries: 3, Base: time.Millisecond, Max: time.Millisecond}
	var retried []int
	fast.OnRetry = func(attempt int, _ time.Duration, _ error) { retried = append(retried, attempt) }

	calls := 0
	err := Do(ctx, fast, func(attempt int) error {
		calls++
		if attempt < 2 {
			return Again(errors.New("rejected"))
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, calls)
	assert.Equal(t, []int{1, 2}, retried)

	fatal := errors.New("bad credentials")
	calls = 0
	err = Do(ctx, fast, func(int) error { calls++; return fatal })
	assert.Same(t, fatal, err, "an error not marked Again is returned as it is")
	assert.Equal(t, 1, calls)

	calls = 0
	err = Do(ctx, fast, func(int) error { calls++; return Again(errors.New("rejected")) })
	var spent *Exhausted
	require.ErrorAs(t, err, &spent)
	assert.Equal(t, 4, spent.Attempts)
	assert.Equal(t, 4, calls, "one attempt and 3 retries")
	assert.EqualError(t, spent.Err, "rejected")

	calls = 0
	err = Do(ctx, Policy{}, func(int) error { calls++; return Again(errors.New("rejected")) })
	require.ErrorAs(t, err, &spent)
	assert.Equal(t, 1, calls, "the zero Policy never retries")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err = Do(cancelled, Policy{Retries: 5, Base: time.Hour}, func(int) error { return Again(errors.New("rejected")) })
	assert.ErrorIs(t, err, context.Canceled)
}
