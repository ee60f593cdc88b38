package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	gitcli "github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/retry"
)

// transfer runs one git command that talks to the remote (clone, fetch, push)
// and retries it, with the one retry policy, while it fails transiently
// (gitcli.IsTransient: 5xx, 429, a broken connection, a stall beyond
// StallTimeout); a refused credential or a rejected push fails at once. Each
// retry is counted in g.retries and logged. before, when set, runs before every
// attempt (a clone clears its directory). All three commands are safe to repeat:
// a push that landed but whose answer broke finds the remote up to date.
func (g *git) transfer(ctx context.Context, what string, before func(), args ...string) (string, error) {
	policy := retry.DefaultPolicy()
	policy.Retries = g.retryLimit
	policy.OnRetry = func(attempt int, wait time.Duration, err error) {
		g.retries++
		g.log.Info("the GitOps remote failed; retrying", "repo", g.remote.display, "step", what, "attempt", attempt, "wait", wait.String(), "reason", gitcli.LastLine(err))
	}
	var out string
	err := retry.Do(ctx, policy, func(int) error {
		if before != nil {
			before()
		}
		var err error
		if out, err = g.run(ctx, args...); err != nil && gitcli.IsTransient(err) {
			return retry.Again(err)
		}
		return err
	})
	var spent *retry.Exhausted
	if errors.As(err, &spent) {
		return "", fmt.Errorf("%w (tried %d times, --retries %d; run again later: a re-run finishes what this one started)", spent.Err, spent.Attempts, g.retryLimit)
	}
	if gitcli.IsAuthFailure(err) {
		return "", fmt.Errorf("%w; the remote refused the credentials: check the token (--git-token, $CHARTSHIP_GIT_TOKEN or $GITHUB_TOKEN) and that it may push to the repository", err)
	}
	return out, err
}

// clearDir empties dir for another clone attempt.
func clearDir(dir string) func() {
	return func() { _ = os.RemoveAll(dir) }
}
