// Package faultproxy is an HTTP proxy for tests that stands in front of a real
// server (the in-process registry of internal/registrytest, the git
// http-backend of internal/gittest) and breaks the wire the way real networks
// and overloaded hosts do: 500/502/503 answers, 429 with Retry-After, a
// connection reset in the middle of a body, a body cut short, and a server that
// stops answering (before the headers, or in the middle of the body).
//
// Faults are picked by Rules (method, path, how many times); every request is
// recorded with the fault it got, and a hook sees each request as it arrives
// and after the server answered it (wire events a test can act on, e.g. kill
// a process right after a blob PUT).
package faultproxy

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Class is a kind of fault.
type Class string

// The fault classes.
const (
	None         Class = ""
	Status500    Class = "500"
	Status502    Class = "502"
	Status503    Class = "503"
	TooMany      Class = "429"            // 429 with Rule.RetryAfter (default "1")
	Reset        Class = "reset"          // the connection is reset before any answer
	ResetMidBody Class = "reset-mid-body" // the real answer's headers and half its body, then a reset
	Truncate     Class = "truncate"       // the real answer's headers and half its body, then a clean close
	Stall        Class = "stall"          // no answer for Rule.Stall (or until the client gives up)
	StallMidBody Class = "stall-mid-body" // the real answer's headers and half its body, then nothing for Rule.Stall
	Status401    Class = "401"            // the credentials refused (not transient: never worth a retry)
	Status403    Class = "403"
)

// Classes are all the fault classes, for table tests.
var Classes = []Class{Status500, Status502, Status503, TooMany, Reset, ResetMidBody, Truncate, Stall, StallMidBody}

// MidBody reports whether the class lets the request reach the server and
// breaks only its answer (so a push may have landed).
func (c Class) MidBody() bool {
	return c == ResetMidBody || c == Truncate || c == StallMidBody
}

// GitSays is what git's complaint holds for each class once a client's
// retries are spent against the git http-backend (the status classes name
// their code, a stall git's "too slow"); the other classes have no word of
// their own.
var GitSays = map[Class]string{
	Status500: "500", Status502: "502", Status503: "503", TooMany: "429",
	Stall: "too slow", StallMidBody: "too slow",
}

// Rule picks requests to fault.
type Rule struct {
	Method string // "" for any
	Path   string // a substring of the URL path; "" for any
	Class  Class
	// Times is how many matching requests get the fault (0 means 1; <0 means all).
	Times int
	// Skip lets that many matching requests through before the first fault.
	Skip int
	// Every faults only every Every-th matching request (0 or 1: each one), for
	// faults sprinkled over a load.
	Every      int
	RetryAfter string        // for TooMany
	Stall      time.Duration // for Stall and StallMidBody (0 means a minute)
	// Forward sends a stalled request on to the server after the stall (when the
	// client is still there); by default a stalled request never reaches it.
	Forward bool
}

// Request is one request the proxy received.
type Request struct {
	Method, Path string
	Status       int   // the server's status (0 when it never saw the request)
	Fault        Class // the fault injected, None when served normally
}

// Event is what a Hook is told: a request arriving (Done false) or answered
// (Done true: the server has handled it and the client got the answer or the
// fault).
type Event struct {
	Request
	Done bool
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL  string // http://HOST
	Host string // host:port

	target *url.URL
	srv    *httptest.Server
	tr     *http.Transport

	closed chan struct{} // closed when the test ends: every stall ends

	mu    sync.Mutex
	rules []*ruleState
	reqs  []Request
	hook  func(Event) bool
}

type ruleState struct {
	Rule
	seen, fired int
}

// New starts a proxy in front of target (an http:// base URL) for the test's
// duration.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" {
		t.Fatalf("faultproxy: target %q: want an http:// URL", target)
	}
	p := &Proxy{closed: make(chan struct{}), target: u, tr: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.Start()
	p.URL = p.srv.URL
	p.Host = p.srv.Listener.Addr().String()
	t.Cleanup(func() {
		close(p.closed)
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.tr.CloseIdleConnections()
	})
	return p
}

// Inject replaces the rules (none: serve everything normally).
func (p *Proxy) Inject(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
	for _, r := range rules {
		if r.Times == 0 {
			r.Times = 1
		}
		p.rules = append(p.rules, &ruleState{Rule: r})
	}
}

// OnEvent sets (nil: clears) a function told about every request as it
// arrives and once it is answered. It runs on the request's goroutine; when
// it returns true for an arriving request, the request is dropped (the
// connection reset, the server never sees it).
func (p *Proxy) OnEvent(hook func(Event) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hook = hook
}

// Requests returns the requests so far, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// Faults counts the faults injected so far, by class.
func (p *Proxy) Faults() map[Class]int {
	out := map[Class]int{}
	for _, r := range p.Requests() {
		if r.Fault != None {
			out[r.Fault]++
		}
	}
	return out
}

// Reset forgets the requests recorded so far.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = nil
}

func (p *Proxy) pick(r *http.Request) (Rule, bool) {
	for _, s := range p.rules {
		if (s.Method != "" && s.Method != r.Method) || !strings.Contains(r.URL.Path, s.Path) {
			continue
		}
		s.seen++
		if s.seen <= s.Skip || (s.Times > 0 && s.fired >= s.Times) || (s.Every > 1 && (s.seen-s.Skip)%s.Every != 0) {
			continue
		}
		s.fired++
		return s.Rule, true
	}
	return Rule{}, false
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	rule, faulted := p.pick(r)
	if !faulted {
		rule.Class = None
	}
	p.reqs = append(p.reqs, Request{Method: r.Method, Path: r.URL.Path, Fault: rule.Class})
	i := len(p.reqs) - 1
	hook := p.hook
	p.mu.Unlock()
	if hook != nil && hook(Event{Request: Request{Method: r.Method, Path: r.URL.Path, Fault: rule.Class}}) {
		_, _ = io.Copy(io.Discard, r.Body)
		hijackReset(w)
		return
	}
	status := p.handle(w, r, rule)
	p.mu.Lock()
	p.reqs[i].Status = status
	done := p.reqs[i]
	p.mu.Unlock()
	if hook != nil {
		hook(Event{Request: done, Done: true})
	}
}

// handle answers r as rule says and returns the server's status (0: the
// server never saw it).
func (p *Proxy) handle(w http.ResponseWriter, r *http.Request, rule Rule) int {
	stall := rule.Stall
	if stall <= 0 {
		stall = time.Minute
	}
	switch rule.Class {
	case Status500, Status502, Status503, TooMany, Status401, Status403:
		_, _ = io.Copy(io.Discard, r.Body)
		code := map[Class]int{Status500: 500, Status502: 502, Status503: 503, TooMany: 429, Status401: 401, Status403: 403}[rule.Class]
		if rule.Class == TooMany {
			ra := rule.RetryAfter
			if ra == "" {
				ra = "1"
			}
			w.Header().Set("Retry-After", ra)
		}
		errCode := map[int]string{401: "UNAUTHORIZED", 403: "DENIED"}[code]
		if errCode == "" {
			errCode = "UNKNOWN"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"faultproxy: injected %d"}]}`, errCode, code)
		return 0
	case Reset:
		_, _ = io.Copy(io.Discard, r.Body)
		hijackReset(w)
		return 0
	case Stall:
		// Read the request first: only then does the server notice a client
		// that hangs up.
		in, err := io.ReadAll(r.Body)
		if err != nil {
			return 0
		}
		r.Body = io.NopCloser(bytes.NewReader(in))
		select {
		case <-r.Context().Done():
			return 0
		case <-p.closed:
			hijackReset(w)
			return 0
		case <-time.After(stall):
		}
		if !rule.Forward {
			hijackReset(w)
			return 0
		}
	}
	resp, body, err := p.forward(r)
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return 0
	}
	if rule.Class.MidBody() {
		p.writeRaw(w, resp, body, rule.Class, stall)
		return resp.StatusCode
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode
}

// forward sends r to the target and reads the whole answer.
func (p *Proxy) forward(r *http.Request) (*http.Response, []byte, error) {
	in, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, err
	}
	u := *p.target
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	out, err := http.NewRequest(r.Method, u.String(), bytes.NewReader(in))
	if err != nil {
		return nil, nil, err
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host // the registry builds upload URLs from it: they must point at the proxy
	out.ContentLength = int64(len(in))
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// writeRaw writes the answer on the raw connection, with its full
// Content-Length but only half its body, then resets, closes or stalls.
func (p *Proxy) writeRaw(w http.ResponseWriter, resp *http.Response, body []byte, class Class, stall time.Duration) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	bw := buf.Writer
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	h := resp.Header.Clone()
	h.Del("Transfer-Encoding")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	h.Set("Connection", "close")
	_ = h.Write(bw)
	bw.WriteString("\r\n")
	_, _ = bw.Write(body[:len(body)/2])
	_ = bw.Flush()
	switch class {
	case ResetMidBody:
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	case StallMidBody:
		// nothing more until the stall is over or the client hangs up
		done := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, conn); close(done) }()
		select {
		case <-done:
		case <-p.closed:
		case <-time.After(stall):
			_, _ = conn.Write(body[len(body)/2:])
		}
	}
}

// hijackReset closes the connection with a reset, answering nothing.
func hijackReset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}
