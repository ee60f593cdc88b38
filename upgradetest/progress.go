package upgradetest

import "github.com/chartship/chartship/internal/progress"

// id is the scenario's ScenarioResult.ID, known before it runs.
func (s *scenario) id() string {
	r := ScenarioResult{Name: s.name, To: s.to.Metadata.Version, Kind: KindInstall}
	if s.from != nil {
		r.Kind, r.From = KindUpgrade, s.from.Metadata.Version
	}
	return r.ID()
}

// progressStep reports the step a scenario is in.
func (s *scenario) progressStep(step string) {
	s.opts.Progress.Send(progress.Event{Task: s.id(), Step: step, State: progress.Running})
}

// progressDone reports how a scenario ended.
func (s *scenario) progressDone(r *ScenarioResult) {
	e := progress.Event{Task: s.id(), State: progress.Passed, Step: r.Note}
	if !r.Passed {
		e.State = progress.Failed
		if st := r.FailedStep(); st != nil {
			e.Step = st.Name + ": " + firstLine(st.Error)
		}
	}
	s.opts.Progress.Send(e)
}
