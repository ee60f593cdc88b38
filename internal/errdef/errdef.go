// Package errdef classifies errors by who has to act on them. The classification
// travels with the error (errors.Is/As see through any %w wrapping) and the CLI maps
// it to an exit code in exactly one place.
package errdef

import "errors"

// Sentinels for errors.Is. A classified error matches the sentinel of its kind.
var (
	// ErrUsage marks bad input: a flag, an argument, a file the user gave us.
	ErrUsage = errors.New("invalid input")
	// ErrCheck marks a check that ran and failed: lint, schema, a version
	// conflict in a catalog, a failed upgrade test.
	ErrCheck = errors.New("check failed")
	// ErrExternal marks a failure of a system outside chartship: a registry,
	// a git remote, a cluster, the network.
	ErrExternal = errors.New("external system error")
)

type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string        { return e.err.Error() }
func (e *kindError) Unwrap() error        { return e.err }
func (e *kindError) Is(target error) bool { return target == e.kind }

func wrap(kind, err error) error {
	if err == nil {
		return nil
	}
	return &kindError{kind: kind, err: err}
}

// Usage marks err as bad input. The message is unchanged. Nil stays nil.
func Usage(err error) error { return wrap(ErrUsage, err) }

// Check marks err as a failed check. The message is unchanged. Nil stays nil.
func Check(err error) error { return wrap(ErrCheck, err) }

// External marks err as a failure of an outside system. The message is unchanged.
// Nil stays nil.
func External(err error) error { return wrap(ErrExternal, err) }

// severity orders the kinds: an external failure beats a failed check beats
// bad input (who has to act first).
var severity = map[error]int{ErrUsage: 1, ErrCheck: 2, ErrExternal: 3}

// Kind returns the classification of err (ErrUsage, ErrCheck or ErrExternal),
// or nil when err is not classified: the outermost one along a chain of
// wrapping, and the most serious one among the errors a join holds, whatever
// their order.
func Kind(err error) error {
	for err != nil {
		if k, ok := err.(*kindError); ok {
			return k.kind
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			var worst error
			for _, e := range u.Unwrap() {
				if k := Kind(e); severity[k] > severity[worst] {
					worst = k
				}
			}
			return worst
		default:
			return nil
		}
	}
	return nil
}

// Join joins errs (nils dropped) and classifies the result by the most serious
// kind among them (see Kind).
func Join(errs ...error) error {
	joined := errors.Join(errs...)
	if joined == nil {
		return nil
	}
	if k := Kind(joined); k != nil {
		return wrap(k, joined)
	}
	return joined
}
