package progress

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var escapes = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// screen replays what a terminal shows for out: \x1b[NA moves up N lines, \x1b[J and
// \x1b[2K erase, \r returns; enough of a terminal for the view's output.
func screen(out string) []string {
	var lines []string
	row := 0
	for len(out) > 0 {
		if loc := escapes.FindStringIndex(out); loc != nil && loc[0] == 0 {
			seq := out[:loc[1]]
			out = out[loc[1]:]
			switch {
			case strings.HasSuffix(seq, "A"):
				n := 0
				for _, c := range seq[2 : len(seq)-1] {
					n = n*10 + int(c-'0')
				}
				row -= n
			case strings.HasSuffix(seq, "J"):
				lines = lines[:row]
			case strings.HasSuffix(seq, "K"):
				if row < len(lines) {
					lines[row] = ""
				}
			}
			continue
		}
		r := out[0]
		switch r {
		case '\r':
		case '\n':
			row++
		default:
			for len(lines) <= row {
				lines = append(lines, "")
			}
			next := len(out)
			if loc := regexp.MustCompile(`[\r\n\x1b]`).FindStringIndex(out); loc != nil {
				next = loc[0]
			}
			lines[row] += out[:next]
			out = out[next:]
			continue
		}
		out = out[1:]
	}
	return lines
}

func TestViewDrawsInPlaceWithLogsAbove(t *testing.T) {
	c := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	v := New(&buf, Options{Width: 60, Interval: time.Hour, Now: c.Now})
	v.Event(Event{Task: "package", Step: "building hello 1.1.0"})
	c.add(1500 * time.Millisecond)
	v.Event(Event{Task: "package", State: Passed})
	v.Event(Event{Task: "upgrade-test"})
	v.Event(Event{Task: "default: 1.0.0 → 1.1.0", Level: 1, Step: "install 1.0.0"})
	_, _ = v.Write([]byte("a log line\n"))
	c.add(2 * time.Second)
	v.Event(Event{Task: "default: 1.0.0 → 1.1.0", Level: 1, Step: "healthy after upgrade"})
	mid := screen(buf.String())
	assert.Equal(t, []string{
		"a log line",
		"✓ package                     1.5s",
		"⠋ upgrade-test                2.0s",
		"⠋   default: 1.0.0 → 1.1.0    2.0s  healthy after upgrade",
	}, mid)
	v.Event(Event{Task: "default: 1.0.0 → 1.1.0", Level: 1, State: Failed, Step: "upgrade to 1.1.0: field is immutable and a very long message that is cut to the width"})
	v.Event(Event{Task: "upgrade-test", State: Failed})
	v.Event(Event{Task: "publish", State: Skipped})
	v.Close()
	v.Event(Event{Task: "late", State: Running}) // after Close: ignored
	assert.Equal(t, []string{
		"a log line",
		"✓ package                     1.5s",
		"✗ upgrade-test                2.0s",
		"✗   default: 1.0.0 → 1.1.0    2.0s  upgrade to 1.1.0: fiel…",
		"- publish                  skipped",
	}, screen(buf.String()))
	assert.True(t, strings.HasPrefix(buf.String(), "\x1b[?25l") && strings.HasSuffix(buf.String(), "\x1b[?25h"), "the cursor is hidden while drawing and shown again")
}

func TestNilFuncDropsEvents(t *testing.T) {
	var f Func
	f.Send(Event{Task: "x"}) // no panic
	var got []Event
	f = func(e Event) { got = append(got, e) }
	f.Send(Event{Task: "x"})
	assert.Len(t, got, 1)
}
