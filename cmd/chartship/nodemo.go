//go:build !demo

package main

import "github.com/urfave/cli/v3"

// optionalCommands are the commands only some builds have: none in the
// production binary (the demo is built with -tags demo; see demo.go).
func optionalCommands() []*cli.Command { return nil }
