// Command chartship ships Helm charts the safe way: package, upgrade-test,
// publish, bump downstream GitOps repositories. This package only wires the CLI:
// flags, environment variables, output and exit codes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, documented in README.md. Every command uses them.
const (
	exitOK       = 0
	exitUsage    = 1 // bad input: flags, arguments, files; also any unclassified failure
	exitCheck    = 2 // a check ran and failed: lint, schema, version conflict, upgrade test
	exitExternal = 3 // a system outside chartship failed: registry, git remote, cluster
	exitSignal   = 130
)

// errInterrupted is the cause of the run's context when Ctrl-C (SIGINT) or
// SIGTERM stopped it: what was started is cleaned up, then the run exits 130.
var errInterrupted = errors.New("interrupted")

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		signal.Stop(sigs) // a second Ctrl-C stops at once
		fmt.Fprintf(os.Stderr, "chartship: %s: interrupted, cleaning up (press Ctrl-C again to stop at once and leave things behind)\n", s)
		cancel(errInterrupted)
	}()
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	signal.Stop(sigs)
	cancel(nil)
	os.Exit(code)
}

// interrupted reports whether ctx was stopped by a signal.
func interrupted(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errInterrupted)
}

// run executes the CLI with args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newApp(stdout, stderr)
	err := root.Run(ctx, args)
	if interrupted(ctx) {
		// Whatever failed after the signal failed because of it; clean-up has run.
		err = errInterrupted
	}
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	// JSON on stdout is one document: the command's result when it printed one
	// (the error is then on stderr and in the exit code), else the error.
	if st := state(root); st != nil && st.output == "json" && !st.rendered {
		_ = json.NewEncoder(stdout).Encode(map[string]any{"error": err.Error(), "exitCode": code})
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	return code
}

// exitCode is the one place where errors become exit codes.
func exitCode(err error) int {
	if errors.Is(err, errInterrupted) {
		return exitSignal
	}
	switch errdef.Kind(err) {
	case errdef.ErrUsage:
		return exitUsage
	case errdef.ErrCheck:
		return exitCheck
	case errdef.ErrExternal:
		return exitExternal
	}
	if errors.Is(err, context.Canceled) {
		return exitSignal
	}
	return exitUsage
}

// versionCommand is `chartship version`, the same as --version.
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the build version (as --version does)",
		Action: func(_ context.Context, cmd *cli.Command) error {
			cli.ShowVersion(cmd.Root())
			return nil
		},
	}
}

// appState is what every command shares, set up once from the global flags.
type appState struct {
	stdout, stderr io.Writer
	output         string // text or json
	rendered       bool   // a result was printed
	log            *slog.Logger
}

const stateKey = "chartship"

func state(cmd *cli.Command) *appState {
	st, _ := cmd.Root().Metadata[stateKey].(*appState)
	return st
}

// logger returns the command's logger.
func logger(cmd *cli.Command) *slog.Logger { return state(cmd).log }

// render prints a command's result: JSON with --output json, else text written by
// the text function.
func render(cmd *cli.Command, v any, text func(w io.Writer)) error {
	st := state(cmd)
	st.rendered = true
	if st.output == "json" {
		enc := json.NewEncoder(st.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(st.stdout)
	return nil
}

func newApp(stdout, stderr io.Writer) *cli.Command {
	st := &appState{stdout: stdout, stderr: stderr}
	root := &cli.Command{
		Name:    "chartship",
		Usage:   "ship Helm charts the safe way: package, upgrade-test, publish, bump",
		Version: version,
		Writer:  stdout,
		// Errors are printed once, by run, and mapped to exit codes there.
		ErrWriter:             stderr,
		ExitErrHandler:        func(context.Context, *cli.Command, error) {},
		EnableShellCompletion: true,
		ConfigureShellCompletionCommand: func(c *cli.Command) {
			c.Hidden = false
			c.Usage = "print a shell completion script: bash, zsh, fish (e.g. source <(chartship completion bash))"
		},
		Metadata: map[string]any{stateKey: st},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "result format: text or json"},
			&cli.StringFlag{Name: "log-format", Value: logging.FormatAuto, Usage: "log format on stderr: auto (human on a terminal, plain in CI), plain or json"},
			&cli.BoolFlag{Name: "verbose", Usage: "log debug detail"},
		},
		Before: func(ctx context.Context, cmd *cli.Command) (context.Context, error) {
			st.output = cmd.String("output")
			if st.output != "text" && st.output != "json" {
				return ctx, errdef.Usage(fmt.Errorf("--output %q: use text or json", st.output))
			}
			log, err := logging.New(stderr, cmd.String("log-format"), cmd.Bool("verbose"))
			if err != nil {
				return ctx, errdef.Usage(fmt.Errorf("--log-format: %w", err))
			}
			st.log = log
			return ctx, nil
		},
		Commands: append([]*cli.Command{
			packageCommand(),
			publishCommand(),
			upgradeTestCommand(),
			releaseCommand(),
			bumpCommand(),
			notifyCommand(),
			catalogCommand(),
			verifyCommand(),
			versionCommand(),
		}, optionalCommands()...),
	}
	addEnvSources(root)
	wireUsage(root)
	wireConfig(root)
	return root
}

// addEnvSources gives every flag of cmd and its subcommands the environment
// variable CHARTSHIP_<FLAG_NAME> as its first source, before any it already has.
func addEnvSources(cmd *cli.Command) {
	for _, f := range cmd.Flags {
		v := reflect.ValueOf(f)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		sources := v.Elem().FieldByName("Sources")
		if !sources.IsValid() || !sources.CanSet() {
			continue
		}
		chain, ok := sources.Interface().(cli.ValueSourceChain)
		if !ok {
			continue
		}
		env := envName(f.Names()[0])
		exists := false
		for _, s := range chain.Chain {
			if es, ok := s.(cli.EnvValueSource); ok && es.Key() == env {
				exists = true
			}
		}
		if !exists {
			chain.Chain = append([]cli.ValueSource{cli.EnvVar(env)}, chain.Chain...)
			sources.Set(reflect.ValueOf(chain))
		}
	}
	for _, sub := range cmd.Commands {
		addEnvSources(sub)
	}
}

func envName(flag string) string {
	return "CHARTSHIP_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}
