package newest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/chartship/chartship/internal/newest"
)

func TestRelease(t *testing.T) {
	assert.Equal(t, "2.0.0", newest.Release([]string{"0.9.0", "2.0.0", "1.1.0", "2.1.0-rc.1", "junk"}))
	assert.Equal(t, "", newest.Release([]string{"1.0.0-dev.1", "junk"}))
	assert.Equal(t, "", newest.Release(nil))
}

func TestBefore(t *testing.T) {
	vs := []string{"0.9.0", "1.0.0", "1.1.0-rc.1", "1.1.0", "2.0.0"}
	assert.Equal(t, "1.0.0", newest.Before(vs, "1.1.0"))
	assert.Equal(t, "1.1.0", newest.Before(vs, "1.2.0-dev.1"))
	assert.Equal(t, "1.1.0", newest.Before(vs, "2.0.0-rc.1"), "a pre-release sorts below its release")
	assert.Equal(t, "", newest.Before(vs, "0.9.0"))
	assert.Equal(t, "", newest.Before(vs, "not-semver"))
	assert.Equal(t, "v1.0.0", newest.Before([]string{"v1.0.0", "1.1.0"}, "1.1.0"), "the version as given")
}
