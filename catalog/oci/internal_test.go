package oci

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/errdef"
)

func TestOCIParseRef(t *testing.T) {
	for ref, want := range map[string][2]string{
		"oci://myacr.azurecr.io/charts":         {"myacr.azurecr.io", "charts"},
		"oci://myacr.azurecr.io/team/charts/":   {"myacr.azurecr.io", "team/charts"},
		"oci://localhost:5000":                  {"localhost:5000", ""},
		"oci://127.0.0.1:5000/a":                {"127.0.0.1:5000", "a"},
		"oci://registry.example.com:443/x/y/z":  {"registry.example.com:443", "x/y/z"},
		"oci://ghcr.io/some-org/helm.charts_v2": {"ghcr.io", "some-org/helm.charts_v2"},
	} {
		host, ns, err := parseRef(ref)
		require.NoError(t, err, ref)
		assert.Equal(t, want, [2]string{host, ns}, ref)
	}
	for _, ref := range []string{"oci://", "oci:///charts", "oci://host/UPPER", "oci://host/ns:tag", "oci://host/ns@sha256:abc", "oci://u:p@host/ns", "oci://host/a//b", "oci://h//", "oci://h///", "oci://h//a"} {
		_, _, err := parseRef(ref)
		assert.Error(t, err, ref)
	}
}

func FuzzOCIParseRef(f *testing.F) {
	for _, s := range []string{"oci://myacr.azurecr.io/charts", "oci://localhost:5000", "oci://u:secret@h/x", "oci://h/a/b/", "oci://[::1]:5000/x", "oci://h/ns:tag"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		host, ns, err := parseRef(ref)
		if err != nil {
			if i := strings.Index(ref, "@"); i > 0 && strings.Contains(ref, ":") {
				// a password in the reference must never come back in the error
				rest := strings.TrimPrefix(ref, "oci://")
				if at := strings.IndexByte(rest, '@'); at >= 0 && !strings.Contains(rest[:at], "/") {
					if _, pw, ok := strings.Cut(rest[:at], ":"); ok && len(pw) > 3 {
						assert.NotContains(t, err.Error(), rest[:at])
					}
				}
			}
			return
		}
		assert.NotEmpty(t, host)
		assert.False(t, strings.HasSuffix(ns, "/"))
		assert.NotContains(t, host, "/")
	})
}

func TestOCITag(t *testing.T) {
	assert.Equal(t, "1.2.3_build.4", tagOf("1.2.3+build.4"))
	assert.Equal(t, "1.2.3-rc.1", tagOf("1.2.3-rc.1"))
}

func TestOCIIsACRHost(t *testing.T) {
	assert.True(t, isACRHost("myacr.azurecr.io"))
	assert.True(t, isACRHost("MyACR.azurecr.io:443"))
	assert.True(t, isACRHost("x.azurecr.cn"))
	assert.False(t, isACRHost("azurecr.io.evil.example"))
	assert.False(t, isACRHost("ghcr.io"))
}

func TestOCIRetryAfter(t *testing.T) {
	d, ok := parseRetryAfter("3")
	assert.True(t, ok)
	assert.Equal(t, 3*time.Second, d)
	d, ok = parseRetryAfter("100000")
	assert.True(t, ok)
	assert.Equal(t, maxRetryAfter, d, "capped")
	d, ok = parseRetryAfter(time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat))
	assert.True(t, ok)
	assert.LessOrEqual(t, d, 2*time.Second)
	_, ok = parseRetryAfter("soon")
	assert.False(t, ok)
	_, ok = parseRetryAfter("")
	assert.False(t, ok)
}

func TestOCITokenExpiry(t *testing.T) {
	exp := time.Now().Add(3 * time.Hour).Truncate(time.Second)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}).SignedString([]byte("k"))
	require.NoError(t, err)
	assert.True(t, exp.Equal(tokenExpiry(tok, time.Time{})))
	fallback := time.Now().Add(time.Minute)
	assert.Equal(t, fallback, tokenExpiry("opaque", fallback))
}

func TestOCIScrubKeepsTheChain(t *testing.T) {
	base := catalogdef.ErrConflict
	err := scrub(&ociWrapped{msg: "token=abc123secret at _state=XYZ&digest=1", err: base}, "abc123secret")
	assert.Equal(t, "token=*** at _state=…&digest=1", err.Error())
	assert.ErrorIs(t, err, catalogdef.ErrConflict)
}

type ociWrapped struct {
	msg string
	err error
}

func (w *ociWrapped) Error() string { return w.msg }
func (w *ociWrapped) Unwrap() error { return w.err }

// FuzzSplitChartRef: a reference either splits into parts that rebuild it (with '+'
// for the tag's '_') or is refused as a usage error; never a panic.
func FuzzSplitChartRef(f *testing.F) {
	for _, s := range []string{"oci://ghcr.io/acme/charts/hello:1.2.3", "oci://localhost:5000/hello:1.0.0_build.1", "oci://h/c", "ghcr.io/x:1", "oci://u:p@h/ns/c:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		cat, name, version, err := SplitChartRef(ref)
		if err != nil {
			if errdef.Kind(err) != errdef.ErrUsage {
				t.Fatalf("%q: not a usage error: %v", ref, err)
			}
			return
		}
		if got := cat + "/" + name + ":" + tagOf(version); got != ref {
			t.Fatalf("%q split into %q %q %q", ref, cat, name, version)
		}
	})
}
