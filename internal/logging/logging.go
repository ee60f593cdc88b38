// Package logging builds the one *slog.Logger a chartship command uses. Libraries
// take a *slog.Logger in their options and never print on their own.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Formats accepted by New.
const (
	FormatAuto  = "auto"  // human on a terminal, plain otherwise
	FormatHuman = "human" // short lines for people, no timestamps
	FormatPlain = "plain" // one key=value line per event, for CI logs
	FormatJSON  = "json"  // one JSON object per event, for machines
)

// New returns a logger writing to w in the given format. Debug events are kept only
// when verbose is set.
func New(w io.Writer, format string, verbose bool) (*slog.Logger, error) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch resolve(w, format) {
	case FormatHuman:
		return slog.New(&humanHandler{w: w, level: level, mu: &sync.Mutex{}, start: time.Now()}), nil
	case FormatPlain:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("unknown log format %q: use auto, plain or json", format)
	}
}

// Discard returns a logger that drops everything; libraries use it when their
// caller gave them none.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OrDiscard returns l, or a discarding logger when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return Discard()
	}
	return l
}

func resolve(w io.Writer, format string) string {
	if format != FormatAuto && format != "" {
		return format
	}
	if os.Getenv("CI") != "" {
		return FormatPlain
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return FormatHuman
	}
	return FormatPlain
}

// humanHandler writes "  1.2s • message  key=value" lines: what a person at a
// terminal wants to read while a release runs — how far along it is, and what
// it is doing.
type humanHandler struct {
	w      io.Writer
	level  slog.Level
	attrs  []slog.Attr
	groups []string
	mu     *sync.Mutex
	start  time.Time // zero: no elapsed-time column
}

func (h *humanHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *humanHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if !h.start.IsZero() {
		fmt.Fprintf(&b, "%6.1fs ", time.Since(h.start).Seconds())
	}
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("✗ ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("! ")
	case r.Level < slog.LevelInfo:
		b.WriteString("  ")
	default:
		b.WriteString("• ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) {
		if a.Equal(slog.Attr{}) || a.Value.Kind() == slog.KindString && a.Value.String() == "" {
			return // nothing to say; people read these lines
		}
		b.WriteString("  ")
		if len(h.groups) > 0 {
			b.WriteString(strings.Join(h.groups, "."))
			b.WriteByte('.')
		}
		b.WriteString(a.Key)
		b.WriteByte('=')
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t\n\"") {
			v = fmt.Sprintf("%q", v)
		}
		b.WriteString(v)
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool { write(a); return true })
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *humanHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *humanHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.groups = append(append([]string{}, h.groups...), name)
	return &c
}
