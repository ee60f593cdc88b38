package release

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/chartship/chartship/internal/progress"
)

func TestStagesReportEachStageOnce(t *testing.T) {
	var got []progress.Event
	s := &stages{send: func(e progress.Event) { got = append(got, e) }}
	s.start(StagePackage, "building hello 1.1.0")
	s.start(StageUpgradeTest, "")
	nested(s.send)(progress.Event{Task: "default: 1.0.0 → 1.1.0", Step: "install 1.0.0"})
	s.end(&Result{Failed: StageUpgradeTest, Skipped: []Stage{StagePublish, StageBump}})
	assert.Equal(t, []progress.Event{
		{Task: "package", Step: "building hello 1.1.0", State: progress.Running},
		{Task: "package", State: progress.Passed},
		{Task: "upgrade-test", State: progress.Running},
		{Task: "default: 1.0.0 → 1.1.0", Level: 1, Step: "install 1.0.0", State: progress.Running},
		{Task: "upgrade-test", State: progress.Failed},
		{Task: "publish", State: progress.Skipped},
		{Task: "bump", State: progress.Skipped},
	}, got)

	var none stages // no Func: nothing to send, nothing breaks
	none.start(StagePackage, "")
	none.end(&Result{})
	assert.Nil(t, nested(nil))
}
