package oci_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/registrytest"
)

// holdManifestPUTs makes the registry hold every manifest PUT until n of them
// have arrived (or a few seconds passed): the worst case of a race, every
// publisher past its last look at the tag before anyone writes it.
func holdManifestPUTs(n int) registrytest.FaultFunc {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func(_ int, r *http.Request) *registrytest.Fault {
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") {
			return nil
		}
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
		}
		return nil
	}
}

// TestOCIRacingPublishersOfDifferentBytes races publishers of different charts
// under one version onto one tag, each with its own client (as separate CI
// jobs): exactly one reports success, the others a conflict naming both
// digests (exit 2), and the tag holds the winner's chart.
func TestOCIRacingPublishersOfDifferentBytes(t *testing.T) {
	const racers = 6
	for _, tc := range []struct {
		name string
		hold bool
	}{
		{"every PUT on the wire at once", true},
		{"as the goroutines run", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t)
			for round := range 3 {
				version := fmt.Sprintf("1.%d.0", round)
				pkgs := make([]*chart.Package, racers)
				cats := make([]*oci.Catalog, racers)
				for i := range racers {
					pkgs[i] = ociTestPackage(t, t.TempDir(), "contested", version, fmt.Sprintf("build %d", i))
					cats[i] = ociOpen(t, reg.Ref("race"), oci.Options{PlainHTTP: true, Backoff: 5 * time.Millisecond}, nil)
				}
				if tc.hold {
					reg.InjectFaults(holdManifestPUTs(racers))
				}
				results := make([]catalogdef.Result, racers)
				errs := make([]error, racers)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range racers {
					wg.Go(func() {
						<-start
						results[i], errs[i] = cats[i].Publish(context.Background(), pkgs[i])
					})
				}
				close(start)
				wg.Wait()
				reg.InjectFaults(nil)

				winner := -1
				for i, err := range errs {
					if err == nil {
						require.Equal(t, -1, winner, "round %d: two publishers report success: %d and %d", round, winner, i)
						assert.Equal(t, catalogdef.Published, results[i].Status)
						winner = i
						continue
					}
					assert.ErrorIs(t, err, catalogdef.ErrConflict, "round %d publisher %d", round, i)
					assert.ErrorIs(t, err, errdef.ErrCheck, "a lost race is exit 2")
					assert.Contains(t, err.Error(), pkgs[i].Digest.Encoded(), "names this publish's chart layer")
				}
				require.NotEqual(t, -1, winner, "round %d: nobody won: %v", round, errs)
				ociAssertChart(t, cats[0], "contested", version, pkgs[winner].Digest.String())

				// The loser's re-run is the ordinary conflict; the winner's is a no-op.
				for i := range racers {
					res, err := cats[i].Publish(context.Background(), pkgs[i])
					if i == winner {
						require.NoError(t, err)
						assert.Equal(t, catalogdef.AlreadyPublished, res.Status)
					} else {
						assert.ErrorIs(t, err, catalogdef.ErrConflict)
					}
				}
			}
		})
	}
}

// TestOCIRacingPublishersOfTheSameChart: racers of identical bytes all succeed.
func TestOCIRacingPublishersOfTheSameChart(t *testing.T) {
	const racers = 4
	reg := registrytest.New(t)
	pkg := ociTestPackage(t, t.TempDir(), "same", "2.0.0", "")
	reg.InjectFaults(holdManifestPUTs(racers))
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		cat := ociOpen(t, reg.Ref("race"), oci.Options{PlainHTTP: true}, nil)
		wg.Go(func() { _, errs[i] = cat.Publish(context.Background(), pkg) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	ociAssertChart(t, ociOpen(t, reg.Ref("race"), oci.Options{PlainHTTP: true}, nil), "same", "2.0.0", pkg.Digest.String())
}
