package compat

import (
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/stretchr/testify/assert"
)

func TestBreaking(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		breaking bool
		next     string
	}{
		{"1.2.3", "1.9.0", false, "2.0.0"},
		{"1.2.3", "2.0.0", true, "2.0.0"},
		{"0.1.0", "0.2.0", true, "0.2.0"},
		{"0.1.0", "0.1.7", false, "0.2.0"},
		{"0.0.9", "0.2.0", true, "0.1.0"},
		{"0.0.9", "0.0.10", false, "0.1.0"},
		{"0.9.1", "1.0.0", true, "0.10.0"},
		{"1.2.3-dev.1", "1.2.3", false, "2.0.0"},
	} {
		from, to := semver.MustParse(tc.from), semver.MustParse(tc.to)
		assert.Equal(t, tc.breaking, Breaking(from, to), "%s → %s", tc.from, tc.to)
		assert.Equal(t, tc.next, NextBreaking(from).String(), tc.from)
		assert.Equal(t, tc.breaking, !to.LessThan(NextBreaking(from)), "%s → %s: NextBreaking agrees with Breaking", tc.from, tc.to)
	}
}
