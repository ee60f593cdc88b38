package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestEveryCommandHasHelp runs --help on every command: a flag defined twice in
// one command (easy when flag sets are combined) fails here, before any user
// meets it.
func TestEveryCommandHasHelp(t *testing.T) {
	var names [][]string
	for _, c := range newApp(nil, nil).Commands {
		names = append(names, []string{c.Name})
		for _, sub := range c.Commands {
			names = append(names, []string{c.Name, sub.Name})
		}
	}
	assert.GreaterOrEqual(t, len(names), 8)
	for _, n := range names {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(append([]string{"chartship"}, n...), "--help"), &out, &errOut)
		assert.Equal(t, exitOK, code, "%v --help: %s", n, errOut.String())
		assert.Contains(t, out.String(), "USAGE", n)
	}
}
