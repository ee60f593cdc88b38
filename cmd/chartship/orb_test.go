package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestOrbUsesRealFlags keeps the CircleCI orb honest: every chartship flag its
// steps pass must exist on the command it is passed to.
func TestOrbUsesRealFlags(t *testing.T) {
	raw, err := os.ReadFile("../../orb/orb.yml")
	require.NoError(t, err)
	var orb struct {
		Version  float64 `json:"version"`
		Commands map[string]struct {
			Steps []map[string]any `json:"steps"`
		} `json:"commands"`
		Jobs map[string]any `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &orb))
	assert.Equal(t, 2.1, orb.Version)
	require.Contains(t, orb.Jobs, "release")

	app := newApp(nil, nil)
	known := map[string]bool{}
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			known[n] = true
		}
	}
	for _, c := range app.Commands {
		if c.Name == "release" {
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					known[n] = true
				}
			}
		}
	}
	flag := regexp.MustCompile(`(?:^|[\s(])--([a-z][a-z0-9-]+)`)
	checked := 0
	for name, cmd := range orb.Commands {
		for _, step := range cmd.Steps {
			run, ok := step["run"].(map[string]any)
			if !ok {
				continue
			}
			script, _ := run["command"].(string)
			for _, line := range strings.Split(script, "\n") {
				if !strings.Contains(line, "chartship") && !strings.Contains(line, "args") {
					continue
				}
				for _, m := range flag.FindAllStringSubmatch(line, -1) {
					if m[1] == "version" && strings.Contains(line, "chartship --version") {
						continue
					}
					assert.True(t, known[m[1]], "orb command %s passes --%s, which chartship release does not have", name, m[1])
					checked++
				}
			}
		}
	}
	assert.GreaterOrEqual(t, checked, 5, "the orb's release step passes its flags")
}
