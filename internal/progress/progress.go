// Package progress is the live view of a long run on a terminal: one line per stage or
// scenario with a spinner, the step it is in and the time it has taken, redrawn in place
// while log lines scroll above it. Libraries report what they do as Events through a Func
// their options carry (upgradetest.Options.Progress, release.Options.Progress); the CLI
// decides whether a View renders them (only when stderr is a terminal and not in CI).
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// State is where a task is.
type State int

const (
	Running State = iota // started, or moved on to Event.Step
	Passed
	Failed
	Skipped
)

// Event is one thing a task did: it started a step, or it finished.
type Event struct {
	Task  string // the stage ("package") or scenario ("default: 1.0.0 → 1.1.0")
	Level int    // 0 for a stage, 1 for a scenario within one (shown indented)
	Step  string // Running: the step it is in now; finished: an optional note
	State State
}

// Func receives events; it must be safe to call from several goroutines. A nil Func
// drops them (see Send).
type Func func(Event)

// Send calls f with e when f is not nil.
func (f Func) Send(e Event) {
	if f != nil {
		f(e)
	}
}

// Options configure a View.
type Options struct {
	Width    int           // the terminal's columns; lines are cut to fit (default 80)
	Interval time.Duration // redraw interval for the spinner and clocks (default 100ms)
	Now      func() time.Time
}

// View draws tasks on a terminal. Its Event method is a Func; its Write puts log lines
// above the live lines. Close draws the final state and stops.
type View struct {
	mu     sync.Mutex
	w      io.Writer
	opts   Options
	tasks  []*task
	byName map[string]*task
	drawn  int // lines of the live block on screen
	frame  int
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

type task struct {
	Event
	start, end time.Time
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// New starts a view writing to w, a terminal.
func New(w io.Writer, opts Options) *View {
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if opts.Interval <= 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &View{w: w, opts: opts, byName: map[string]*task{}, stop: make(chan struct{}), done: make(chan struct{})}
	io.WriteString(w, "\x1b[?25l") // hide the cursor while drawing
	go v.tick()
	return v
}

func (v *View) tick() {
	defer close(v.done)
	t := time.NewTicker(v.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			v.frame++
			v.redraw()
			v.mu.Unlock()
		}
	}
}

// Event records e and redraws.
func (v *View) Event(e Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	now := v.opts.Now()
	t, ok := v.byName[e.Task]
	if !ok {
		t = &task{Event: e, start: now}
		v.byName[e.Task] = t
		v.tasks = append(v.tasks, t)
	}
	if e.State == Running {
		if e.Step != "" {
			t.Step = e.Step
		}
	} else {
		t.Step = e.Step
		t.end = now
	}
	t.State = e.State
	v.redraw()
}

// Write writes log output above the live lines.
func (v *View) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return v.w.Write(p)
	}
	v.clear()
	n, err := v.w.Write(p)
	v.redraw()
	return n, err
}

// Close draws the tasks' last state, leaves them on screen and stops the view.
func (v *View) Close() {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.closed = true
	close(v.stop)
	v.redraw()
	io.WriteString(v.w, "\x1b[?25h")
	v.mu.Unlock()
	<-v.done
}

// clear moves to the start of the live block and erases it.
func (v *View) clear() {
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\r\x1b[J", v.drawn)
		v.drawn = 0
	}
}

func (v *View) redraw() {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	now := v.opts.Now()
	width := 0
	for _, t := range v.tasks {
		width = max(width, utf8.RuneCountInString(t.Task)+2*t.Level)
	}
	for _, t := range v.tasks {
		b.WriteString("\r\x1b[2K")
		b.WriteString(cut(v.line(t, now, width), v.opts.Width-1))
		b.WriteString("\n")
	}
	v.drawn = len(v.tasks)
	io.WriteString(v.w, b.String())
}

func (v *View) line(t *task, now time.Time, width int) string {
	mark := spinner[v.frame%len(spinner)]
	end := now
	switch t.State {
	case Passed:
		mark, end = "✓", t.end
	case Failed:
		mark, end = "✗", t.end
	case Skipped:
		mark, end = "-", t.end
	}
	name := strings.Repeat("  ", t.Level) + t.Task
	name += strings.Repeat(" ", max(0, width-utf8.RuneCountInString(name)))
	s := fmt.Sprintf("%s %s %6.1fs", mark, name, end.Sub(t.start).Seconds())
	if t.State == Skipped {
		s = fmt.Sprintf("%s %s %7s", mark, name, "skipped")
	}
	if t.Step != "" {
		s += "  " + t.Step
	}
	return s
}

// cut shortens s to n runes.
func cut(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(0, n-1)]) + "…"
}
