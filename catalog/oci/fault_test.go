package oci_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/registrytest"
)

// ociFaults combines fault functions: the first that fires wins.
func ociFaults(fs ...registrytest.FaultFunc) registrytest.FaultFunc {
	return func(n int, r *http.Request) *registrytest.Fault {
		for _, f := range fs {
			if x := f(n, r); x != nil {
				return x
			}
		}
		return nil
	}
}

func ociFaulted(reg *registrytest.Registry) int {
	n := 0
	for _, r := range reg.Requests() {
		if r.Fault {
			n++
		}
	}
	return n
}

// ociAssertChart checks that the tag holds exactly pkg's chart layer.
func ociAssertChart(t *testing.T, cat *oci.Catalog, name, version, digest string) {
	t.Helper()
	path, err := cat.Fetch(context.Background(), name, version, t.TempDir())
	require.NoError(t, err)
	got := ociOpenPackage(t, path)
	assert.Equal(t, digest, got.Digest.String())
}

func TestOCIFaultsWithinBudget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults registrytest.FaultFunc
	}{
		{"500 on the manifest PUT", registrytest.FailMatching(http.MethodPut, "/manifests/", 2, registrytest.Fault{Status: 500})},
		{"503 on the first GET", registrytest.FailMatching(http.MethodGet, "/manifests/", 1, registrytest.Fault{Status: 503})},
		{"429 with Retry-After on an upload", registrytest.FailMatching(http.MethodPost, "/blobs/uploads/", 1, registrytest.Fault{Status: 429, RetryAfter: "1"})},
		{"408 on a blob PUT", registrytest.FailMatching(http.MethodPut, "/blobs/uploads/", 1, registrytest.Fault{Status: 408})},
		{"connection dropped on a blob PUT", registrytest.FailMatching(http.MethodPut, "/blobs/uploads/", 2, registrytest.Fault{Drop: true})},
		{"blob PUT lands but its answer is lost", registrytest.FailMatching(http.MethodPut, "/blobs/uploads/", 1, registrytest.Fault{DropAfterServing: true})},
		{"manifest PUT lands but its answer is lost", registrytest.FailMatching(http.MethodPut, "/manifests/", 1, registrytest.Fault{DropAfterServing: true})},
		{"everything at once", ociFaults(
			registrytest.FailMatching(http.MethodGet, "/manifests/", 1, registrytest.Fault{Drop: true}),
			registrytest.FailMatching(http.MethodPost, "/blobs/uploads/", 2, registrytest.Fault{Status: 500}),
			registrytest.FailMatching(http.MethodPut, "/blobs/uploads/", 1, registrytest.Fault{Status: 429, RetryAfter: "1"}),
			registrytest.FailMatching(http.MethodPut, "/manifests/", 1, registrytest.Fault{Drop: true}),
		)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t)
			logs := &ociLogBuffer{}
			cat := ociOpen(t, reg.Ref("faulty"), oci.Options{PlainHTTP: true, Backoff: 5 * time.Millisecond, Retries: 4}, ociDebugLogger(logs))
			pkg := ociTestPackage(t, t.TempDir(), "flaky", "3.1.4", "")
			reg.InjectFaults(tc.faults)
			res, err := cat.Publish(context.Background(), pkg)
			require.NoError(t, err, ociDescribe(reg.Requests()))
			assert.Equal(t, catalogdef.Published, res.Status)
			assert.Positive(t, ociFaulted(reg), "the fault fired")
			assert.Contains(t, logs.String(), "retrying")
			reg.InjectFaults(nil)
			ociAssertChart(t, cat, "flaky", "3.1.4", pkg.Digest.String())
			res, err = cat.Publish(context.Background(), pkg)
			require.NoError(t, err)
			assert.Equal(t, catalogdef.AlreadyPublished, res.Status)
		})
	}
}

func TestOCIFaultsBeyondBudgetLeaveNoTag(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		faults registrytest.FaultFunc
		opts   oci.Options
	}{
		{"manifest PUT always 500", registrytest.FailMatching(http.MethodPut, "/manifests/", 1000, registrytest.Fault{Status: 500}),
			oci.Options{Retries: 2}},
		{"chart upload always dropped", registrytest.FailMatching(http.MethodPut, "/blobs/uploads/", 1000, registrytest.Fault{Drop: true}),
			oci.Options{Retries: 3}},
		{"429 longer than the deadline", registrytest.FailMatching(http.MethodPost, "/blobs/uploads/", 1000, registrytest.Fault{Status: 429, RetryAfter: "30"}),
			oci.Options{Timeout: 2 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t)
			o := tc.opts
			o.PlainHTTP, o.Backoff = true, 5*time.Millisecond
			cat := ociOpen(t, reg.Ref("faulty"), o, nil)
			pkg := ociTestPackage(t, t.TempDir(), "doomed", "1.0.0", "")
			reg.InjectFaults(tc.faults)
			start := time.Now()
			_, err := cat.Publish(ctx, pkg)
			took := time.Since(start)
			require.Error(t, err)
			t.Log(err)
			assert.ErrorIs(t, err, errdef.ErrExternal)
			assert.Contains(t, err.Error(), reg.Host+"/faulty/doomed")
			assert.Less(t, took, 20*time.Second, "a Retry-After beyond the deadline is not waited for")
			reg.InjectFaults(nil)

			// nothing half-tagged
			_, status := ociManifest(t, reg, "faulty/doomed", "1.0.0")
			assert.Equal(t, http.StatusNotFound, status)
			_, err = cat.Versions(ctx, "doomed")
			assert.ErrorIs(t, err, catalogdef.ErrNotFound)

			// a re-run converges
			res, err := cat.Publish(ctx, pkg)
			require.NoError(t, err)
			assert.Equal(t, catalogdef.Published, res.Status)
			ociAssertChart(t, cat, "doomed", "1.0.0", pkg.Digest.String())
		})
	}
}

func TestOCIRetriesAreBounded(t *testing.T) {
	reg := registrytest.New(t)
	cat := ociOpen(t, reg.Ref("b"), oci.Options{PlainHTTP: true, Retries: 3, Backoff: time.Millisecond}, nil)
	reg.InjectFaults(registrytest.FailMatching(http.MethodGet, "/tags/list", 1000, registrytest.Fault{Status: 502}))
	_, err := cat.Versions(context.Background(), "x")
	require.Error(t, err)
	assert.Equal(t, 4, len(reg.RegistryRequests()), "one try and three retries")

	never := ociOpen(t, reg.Ref("b"), oci.Options{PlainHTTP: true, Retries: 0}, nil)
	reg.ResetRequests()
	_, err = never.Versions(context.Background(), "x")
	require.Error(t, err)
	assert.Equal(t, 1, len(reg.RegistryRequests()))
	assert.True(t, strings.Contains(err.Error(), "502") || strings.Contains(err.Error(), "Bad Gateway"), err.Error())
}
