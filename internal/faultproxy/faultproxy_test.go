package faultproxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClasses: each class does to a real answer what it says.
func TestClasses(t *testing.T) {
	body := strings.Repeat("0123456789", 100)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "yes")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(backend.Close)
	p := New(t, backend.URL)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (*http.Response, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/x", nil)
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	resp, got, err := get()
	require.NoError(t, err)
	assert.Equal(t, body, string(got), "no rule: the real answer")
	assert.Equal(t, "yes", resp.Header.Get("X-Backend"))

	for _, tc := range []struct {
		class  Class
		status int  // 0: no answer
		short  bool // a body error after the headers
	}{
		{Status500, 500, false}, {Status502, 502, false}, {Status503, 503, false}, {TooMany, 429, false},
		{Status401, 401, false}, {Reset, 0, false}, {ResetMidBody, 200, true}, {Truncate, 200, true},
		{Stall, 0, false}, {StallMidBody, 200, true},
	} {
		t.Run(string(tc.class), func(t *testing.T) {
			p.Inject(Rule{Class: tc.class, Stall: time.Minute})
			resp, b, err := get()
			switch {
			case tc.status == 0:
				require.Error(t, err)
			case tc.short:
				require.Error(t, err, "the body breaks off")
				assert.Equal(t, tc.status, resp.StatusCode)
				assert.Less(t, len(b), len(body))
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.status, resp.StatusCode)
				if tc.class == TooMany {
					assert.Equal(t, "1", resp.Header.Get("Retry-After"))
				}
			}
			assert.Equal(t, 1, p.Faults()[tc.class])
			_, b, err = get()
			require.NoError(t, err, "Times 1: the next request is served")
			assert.Equal(t, body, string(b))
			p.Reset()
		})
	}
}

// TestRulesAndEvents: Skip, Every, Times and the hook's drop.
func TestRulesAndEvents(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(backend.Close)
	p := New(t, backend.URL)
	p.Inject(Rule{Path: "/a", Class: Status503, Skip: 1, Every: 2, Times: -1})
	var statuses []int
	for range 6 {
		resp, err := http.Get(p.URL + "/a")
		require.NoError(t, err)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	assert.Equal(t, []int{200, 200, 503, 200, 503, 200}, statuses)

	p.Inject()
	var events []Event
	p.OnEvent(func(e Event) bool {
		events = append(events, e)
		return !e.Done && e.Path == "/drop"
	})
	_, err := http.Get(p.URL + "/drop")
	assert.Error(t, err, "dropped")
	resp, err := http.Get(p.URL + "/keep")
	require.NoError(t, err)
	resp.Body.Close()
	require.Len(t, events, 3, "arrival of /drop; arrival and answer of /keep")
	assert.True(t, events[2].Done)
	assert.Equal(t, 200, events[2].Status)
}
