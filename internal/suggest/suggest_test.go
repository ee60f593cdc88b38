package suggest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClosest(t *testing.T) {
	flags := []string{"catalog-branch", "bump-branch", "cosign-key", "plain-http", "registry"}
	for _, tc := range []struct{ in, want string }{
		{"regsitry", "registry"},
		{"plain-htp", "plain-http"},
		{"cosign", "cosign-key"},
		{"key", "cosign-key"},
		{"REGISTRY", "registry"},
		{"branch", "bump-branch"}, // both end in -branch: the first in order wins
		{"zzzzzzzz", ""},
		{"", ""},
	} {
		assert.Equal(t, tc.want, Closest(tc.in, flags), "Closest(%q)", tc.in)
	}
	assert.Equal(t, "catalogs", Closest("catalgos", []string{"catalogs", "commits", "devSchema"}))
	assert.Equal(t, "", Closest("x", nil))
	in := []string{"b", "a"}
	Closest("a", in)
	assert.Equal(t, []string{"b", "a"}, in, "candidates must not be reordered")
}

func TestDistance(t *testing.T) {
	assert.Equal(t, 0, Distance("", ""))
	assert.Equal(t, 3, Distance("kitten", "sitting"))
	assert.Equal(t, 2, Distance("catalgos", "catalogs"))
	assert.Equal(t, 4, Distance("", "abcd"))
}
