package release

import (
	"slices"

	"github.com/chartship/chartship/internal/progress"
)

// stages reports a release's stages to a progress.Func: each one running when it starts,
// how it ended when the next starts or the release ends, the skipped ones at the end.
type stages struct {
	send    progress.Func
	current Stage
}

func (s *stages) start(st Stage, step string) {
	s.finish(progress.Passed, "")
	s.current = st
	s.send.Send(progress.Event{Task: string(st), Step: step, State: progress.Running})
}

func (s *stages) finish(state progress.State, note string) {
	if s.current != "" {
		s.send.Send(progress.Event{Task: string(s.current), Step: note, State: state})
		s.current = ""
	}
}

// end reports the outcome of the release in res.
func (s *stages) end(res *Result) {
	if res.Failed != "" && res.Failed == s.current {
		s.finish(progress.Failed, "")
	} else {
		s.finish(progress.Passed, "")
	}
	for _, st := range allStages {
		if slices.Contains(res.Skipped, st) {
			s.send.Send(progress.Event{Task: string(st), State: progress.Skipped})
		}
	}
}

// nested passes a stage's own events (the upgrade test's scenarios) on, one level in.
func nested(f progress.Func) progress.Func {
	if f == nil {
		return nil
	}
	return func(e progress.Event) {
		e.Level++
		f(e)
	}
}
