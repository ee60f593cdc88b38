package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@github.com/org/repo.git":    "https://user:***@github.com/org/repo.git",
		"https://ghp_token@github.com/org/repo.git":      "https://***@github.com/org/repo.git",
		"git+https://x:tok@host/r.git":                   "git+https://x:***@host/r.git",
		"oci://registry.example/charts":                  "oci://registry.example/charts",
		"https://r.example/oauth2/token?access_token=ab": "https://r.example/oauth2/token?access_token=%2A%2A%2A",
		"not a url at all":                               "not a url at all",
		"ssh://git@github.com/org/repo.git":              "ssh://git@github.com/org/repo.git",
	} {
		got := URL(in)
		assert.Equal(t, want, got, in)
	}
}

func TestString(t *testing.T) {
	assert.Equal(t, "login as bob with *** failed", String("login as bob with hunter2 failed", "hunter2", ""))
}
