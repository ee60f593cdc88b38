package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProductionBinaryLinksNoTestServers: the registry server (distribution),
// the demo and the test doubles are only in a -tags demo build or in tests.
func TestProductionBinaryLinksNoTestServers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/distribution/distribution/", "/internal/demo", "/internal/localregistry", "/internal/registrytest", "/internal/githubtest", "/internal/gittest", "/internal/testcluster"} {
			assert.NotContains(t, pkg, banned)
		}
	}
	out, err = exec.Command("go", "list", "-deps", "-tags", "demo", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "/internal/demo", "the demo build has the demo")
}
