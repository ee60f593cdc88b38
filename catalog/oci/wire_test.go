package oci_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/registrytest"
)

// wireSays is what an error names for each fault class once the retries are
// spent: the class, in the words a person reads.
var wireSays = map[faultproxy.Class][]string{
	faultproxy.Status500:    {"500"},
	faultproxy.Status502:    {"502"},
	faultproxy.Status503:    {"503"},
	faultproxy.TooMany:      {"429"},
	faultproxy.Reset:        {"connection reset", "EOF"},
	faultproxy.ResetMidBody: {"connection reset", "unexpected EOF", "expected content size"},
	faultproxy.Truncate:     {"unexpected EOF", "expected content size"},
	faultproxy.Stall:        {"no progress for 1s (--request-timeout)"},
	faultproxy.StallMidBody: {"no progress for 1s (--request-timeout)"},
}

// wireRule is the request of each operation a fault class hits: the one
// whose answer has a body for the mid-body classes.
func wireRule(op string, class faultproxy.Class, times int) faultproxy.Rule {
	r := faultproxy.Rule{Class: class, Times: times, RetryAfter: "0", Stall: 10 * time.Minute}
	switch {
	case op == "publish" && class.MidBody():
		r.Method, r.Path, r.Skip = http.MethodGet, "/manifests/", 2 // the read-back: the only answer with a body
	case op == "publish":
		r.Method, r.Path = http.MethodPut, "/blobs/uploads/"
	case op == "pull":
		r.Method, r.Path = http.MethodGet, "/blobs/sha256:"
	case op == "list":
		r.Method, r.Path = http.MethodGet, "/tags/list"
	}
	return r
}

type wireRig struct {
	reg   *registrytest.Registry
	proxy *faultproxy.Proxy
	cat   *oci.Catalog
}

func newWireRig(t *testing.T, retries int) *wireRig {
	reg := registrytest.New(t)
	proxy := faultproxy.New(t, reg.URL)
	cat := ociOpen(t, "oci://"+proxy.Host+"/wire", oci.Options{
		PlainHTTP: true, Retries: retries, Backoff: 5 * time.Millisecond,
		RequestTimeout: time.Second, Timeout: 40 * time.Second,
	}, nil)
	return &wireRig{reg: reg, proxy: proxy, cat: cat}
}

// TestOCIWireFaults runs publish, pull and list through every fault class:
// twice per operation the fault heals within the retries, and the result is
// exactly right; always, it fails with exit 3 naming the class, and nothing
// is half-written (no tag, no file).
func TestOCIWireFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every fault class through the proxy")
	}
	ctx := context.Background()
	for _, class := range faultproxy.Classes {
		for _, op := range []string{"publish", "pull", "list"} {
			t.Run(fmt.Sprintf("%s/%s", class, op), func(t *testing.T) {
				t.Parallel()
				rig := newWireRig(t, 3)
				pkg := ociTestPackage(t, t.TempDir(), "wired", "1.0.0", string(class)+op)
				if op != "publish" {
					_, err := rig.cat.Publish(ctx, pkg)
					require.NoError(t, err)
				}
				run := func() error {
					switch op {
					case "publish":
						res, err := rig.cat.Publish(ctx, pkg)
						if err == nil {
							assert.Contains(t, []catalogdef.Status{catalogdef.Published, catalogdef.AlreadyPublished}, res.Status)
						}
						return err
					case "pull":
						dir := t.TempDir()
						path, err := rig.cat.Fetch(ctx, "wired", "1.0.0", dir)
						if err != nil {
							entries, _ := os.ReadDir(dir)
							assert.Empty(t, entries, "a failed pull leaves no file")
							return err
						}
						assert.Equal(t, pkg.Digest.String(), ociOpenPackage(t, path).Digest.String(), "the pulled bytes are the published ones")
						return nil
					default:
						vs, err := rig.cat.Versions(ctx, "wired")
						if err == nil {
							assert.Equal(t, []string{"1.0.0"}, vs)
						}
						return err
					}
				}

				// within the retries: healed, and the retries show on the wire
				rig.proxy.Inject(wireRule(op, class, 2))
				require.NoError(t, run(), "%s healed after 2 faults", class)
				assert.Equal(t, 2, rig.proxy.Faults()[class], "both faults fired")
				if op == "publish" {
					ociAssertChart(t, rig.cat, "wired", "1.0.0", pkg.Digest.String())
					// the next run starts from an empty registry again
					rig = newWireRig(t, 3)
				}

				// beyond the retries: exit 3, the class named, nothing half-written
				rig.proxy.Inject(wireRule(op, class, -1))
				if op != "publish" {
					rig.proxy.Inject()
					_, err := rig.cat.Publish(ctx, pkg)
					require.NoError(t, err)
					rig.proxy.Inject(wireRule(op, class, -1))
				}
				err := run()
				require.Error(t, err)
				t.Log(err)
				assert.ErrorIs(t, err, errdef.ErrExternal, "exit 3")
				says := wireSays[class]
				assert.True(t, containsAny(err.Error(), says...), "the error names the fault (%q): %s", says, err)
				assert.NotRegexp(t, `_state=[^…]`, err.Error(), "no upload session state in errors")
				if op == "publish" && !strings.Contains(string(class), "body") && class != faultproxy.Truncate {
					_, status := ociManifest(t, rig.reg, "wire/wired", "1.0.0")
					assert.Equal(t, http.StatusNotFound, status, "no tag after a failed publish")
				}
				rig.proxy.Inject()
				require.NoError(t, run(), "a re-run after the faults converges")
			})
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// TestOCIWireAuthFailsAtOnce: a refused credential is never retried.
func TestOCIWireAuthFailsAtOnce(t *testing.T) {
	for _, class := range []faultproxy.Class{faultproxy.Status401, faultproxy.Status403} {
		t.Run(string(class), func(t *testing.T) {
			rig := newWireRig(t, 5)
			rig.proxy.Inject(faultproxy.Rule{Class: class, Times: -1})
			pkg := ociTestPackage(t, t.TempDir(), "locked", "1.0.0", "")
			_, err := rig.cat.Publish(context.Background(), pkg)
			require.Error(t, err)
			assert.ErrorIs(t, err, errdef.ErrExternal)
			assert.Contains(t, err.Error(), "refused the credentials")
			assert.Len(t, rig.proxy.Requests(), 1, "no retry of a refused credential")
		})
	}
}

// TestOCIStalledUploadIsAbandoned: a registry that holds a blob PUT without
// answering for longer than the whole --registry-timeout: the attempt is
// abandoned after --request-timeout and retried, and the publish completes.
func TestOCIStalledUploadIsAbandoned(t *testing.T) {
	for _, stalled := range []bool{true, false} {
		name := map[bool]string{true: "with --request-timeout", false: "without"}[stalled]
		t.Run(name, func(t *testing.T) {
			reg := registrytest.New(t)
			proxy := faultproxy.New(t, reg.URL)
			o := oci.Options{PlainHTTP: true, Backoff: 5 * time.Millisecond, Timeout: 8 * time.Second}
			if stalled {
				o.RequestTimeout = time.Second
			}
			cat := ociOpen(t, "oci://"+proxy.Host+"/stall", o, nil)
			pkg := ociTestPackage(t, t.TempDir(), "slow", "1.0.0", "")
			proxy.Inject(faultproxy.Rule{Method: http.MethodPut, Path: "/blobs/uploads/", Class: faultproxy.Stall, Stall: time.Hour})
			start := time.Now()
			_, err := cat.Publish(context.Background(), pkg)
			t.Logf("%s: %v after %s", name, err, time.Since(start).Round(10*time.Millisecond))
			if !stalled {
				require.Error(t, err, "without a request timeout the stall eats the whole operation")
				assert.ErrorIs(t, err, errdef.ErrExternal)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 1, proxy.Faults()[faultproxy.Stall])
			ociAssertChart(t, cat, "slow", "1.0.0", pkg.Digest.String())
		})
	}
}
