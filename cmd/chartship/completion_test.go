package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersionAndCompletion(t *testing.T) {
	code, byCommand, _ := chartship(t, "version")
	assert.Equal(t, exitOK, code)
	_, byFlag, _ := chartship(t, "--version")
	assert.Equal(t, byFlag, byCommand, "chartship version is --version")
	assert.True(t, strings.HasPrefix(byCommand, "chartship version "), byCommand)

	for shell, want := range map[string]string{
		"bash": "complete -o bashdefault -o default -F __chartship_bash_autocomplete chartship",
		"zsh":  "compdef _chartship chartship",
		"fish": "complete -c chartship",
	} {
		code, out, _ := chartship(t, "completion", shell)
		assert.Equal(t, exitOK, code, shell)
		assert.Contains(t, out, want, shell)
	}
	// what the scripts ask for: a command's flags (the root reads os.Args)
	complete := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		run(context.Background(), append(append([]string{"chartship"}, args...), "--generate-shell-completion"), &stdout, &stderr)
		return stdout.String()
	}
	assert.Contains(t, complete("publish", "--catalog-b"), "--catalog-branch:")
	_, help, _ := chartship(t, "--help")
	assert.Contains(t, help, "completion")
}
