package main

import (
	"os"
	"sync"

	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/progress"
)

// startProgress starts the live view of a long run (release, upgrade-test) when it can be
// seen: stderr is a terminal, not in CI (CI set), and the log format is auto or human. Log
// lines then scroll above the view. It returns the Func to hand to the library (nil without
// a view) and stop, which draws the final state and restores the logger; call stop before
// printing the result. Output (text or JSON on stdout) is the same either way.
func startProgress(cmd *cli.Command, want bool) (progress.Func, func()) {
	st := state(cmd)
	f, ok := st.stderr.(*os.File)
	format := cmd.String("log-format")
	if !want || !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("CI") != "" ||
		(format != logging.FormatAuto && format != logging.FormatHuman) {
		return nil, func() {}
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		width = 80
	}
	view := progress.New(f, progress.Options{Width: width})
	prev := st.log
	if log, err := logging.New(view, logging.FormatHuman, cmd.Bool("verbose")); err == nil {
		st.log = log
	}
	var once sync.Once
	return view.Event, func() {
		once.Do(func() {
			view.Close()
			st.log = prev
		})
	}
}
