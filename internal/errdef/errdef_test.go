package errdef

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKindSurvivesWrapping(t *testing.T) {
	base := errors.New("index.yaml: line 3: not YAML")
	err := fmt.Errorf("publishing hello-1.0.0 to catalog: %w", Check(base))

	assert.True(t, errors.Is(err, ErrCheck))
	assert.False(t, errors.Is(err, ErrUsage))
	assert.True(t, errors.Is(err, base), "the original error stays reachable")
	assert.Equal(t, "publishing hello-1.0.0 to catalog: index.yaml: line 3: not YAML", err.Error())
	assert.Equal(t, ErrCheck, Kind(err))
}

func TestOutermostKindWins(t *testing.T) {
	err := Usage(fmt.Errorf("bad --to: %w", External(errors.New("dial tcp"))))
	assert.Equal(t, ErrUsage, Kind(err))
	assert.True(t, errors.Is(err, ErrExternal), "inner kinds still match errors.Is")
}

func TestKindThroughJoin(t *testing.T) {
	err := errors.Join(errors.New("plain"), External(errors.New("registry down")))
	assert.Equal(t, ErrExternal, Kind(err))
	assert.Nil(t, Kind(errors.New("plain")))
	assert.Nil(t, Usage(nil))
}

func TestJoinTakesTheMostSeriousKind(t *testing.T) {
	usage := Usage(errors.New("repo a: bad YAML"))
	external := External(errors.New("repo b: push rejected"))
	check := Check(errors.New("repo c: conflict"))

	assert.Equal(t, ErrExternal, Kind(Join(usage, nil, check, external)))
	assert.Equal(t, ErrCheck, Kind(Join(usage, check)))
	assert.Equal(t, ErrUsage, Kind(Join(nil, usage)))
	assert.Nil(t, Join(nil, nil))
	assert.Nil(t, Kind(Join(errors.New("plain"))))
	assert.Equal(t, "repo a: bad YAML\nrepo b: push rejected", Join(usage, external).Error())
}

// A failure on several targets at once (publish's --to, bump's repositories)
// exits with the most serious kind among them, whatever order they came in.
func TestKindOfAJoinIsTheMostSeriousWhateverTheOrder(t *testing.T) {
	usage := Usage(errors.New("catalog a: read-only"))
	check := Check(errors.New("catalog b: conflict"))
	external := External(errors.New("catalog c: registry down"))
	for _, errs := range [][]error{
		{usage, external}, {external, usage},
		{usage, check, external}, {check, external, usage}, {external, check, usage},
	} {
		err := fmt.Errorf("publishing: %w", errors.Join(errs...))
		assert.Equal(t, ErrExternal, Kind(err), "%v", errs)
		assert.Equal(t, ErrExternal, Kind(Join(errs...)), "%v", errs)
	}
	assert.Equal(t, ErrCheck, Kind(errors.Join(usage, check)))
	assert.Equal(t, ErrCheck, Kind(errors.Join(check, usage)))
}
