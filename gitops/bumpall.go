package gitops

import (
	"context"
	"fmt"
)

// DefaultBumpParallel is how many repositories BumpAll bumps at once.
const DefaultBumpParallel = 4

// BumpAll bumps every repository (see Bump), at most parallel at once (0:
// DefaultBumpParallel), each with its own commit and pull request. Results
// and errors come back in the order of repos; a nil Result means the
// repository could not even be planned, and its error says why.
func BumpAll(ctx context.Context, repos []string, req Request, opts BumpOptions, parallelism int) ([]*Result, []error) {
	if parallelism <= 0 {
		parallelism = DefaultBumpParallel
	}
	results := make([]*Result, len(repos))
	errs := make([]error, len(repos))
	parallel(ctx, len(repos), parallelism, func() struct{} { return struct{}{} }, func(_ struct{}, i int) struct{} {
		results[i], errs[i] = Bump(ctx, repos[i], req, opts)
		return struct{}{}
	})
	for i := range repos {
		if results[i] == nil && errs[i] == nil { // not started: ctx was done
			errs[i] = fmt.Errorf("%s: not bumped: %w", repos[i], ctx.Err())
		}
	}
	return results, errs
}
