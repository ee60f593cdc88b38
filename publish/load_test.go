package publish_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/gitrepo"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/faultproxy"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/publish"
)

// loadSize reads a size of the load test from the environment (for a bigger
// run than make test's), else def.
func loadSize(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// countLines counts log records whose message contains one of the words.
type countLines struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *countLines) Enabled(context.Context, slog.Level) bool { return true }
func (c *countLines) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range []string{"push rejected", "the remote failed", "retrying"} {
		if strings.HasPrefix(r.Message, w) {
			c.counts[w]++
		}
	}
	return nil
}
func (c *countLines) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *countLines) WithGroup(string) slog.Handler      { return c }

// TestLoadRacingPublishersWithFaults: publishers race their charts into one
// git catalog and one registry, both behind the fault proxy sprinkling
// 5xx, 429s, resets and short bodies; every publisher also races the others
// for one contested version with its own bytes. Afterwards: every entry is in
// the index exactly once with its digest, every archive once, every tag holds
// its chart, and each catalog's contested version holds the one winner's
// bytes (0 lost, 0 duplicated, 0 overwritten).
func TestLoadRacingPublishersWithFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	// The full size, 16 × 20 into both catalogs: 80–110 s here on a quiet
	// 2-core machine, far longer when the machine is loaded (the git side is 321
	// commits, one at a time, by publishers that lose most races).
	publishers := loadSize("CHARTSHIP_LOAD_PUBLISHERS", 16)
	ociCharts := loadSize("CHARTSHIP_LOAD_OCI_CHARTS", 20)
	gitCharts := min(loadSize("CHARTSHIP_LOAD_GIT_CHARTS", ociCharts), ociCharts)

	reg := registrytest.New(t)
	regProxy := faultproxy.New(t, reg.URL)
	regProxy.Inject(
		faultproxy.Rule{Method: http.MethodPut, Path: "/blobs/uploads/", Class: faultproxy.Status503, Times: -1, Every: 13},
		faultproxy.Rule{Method: http.MethodPost, Path: "/blobs/uploads/", Class: faultproxy.TooMany, RetryAfter: "0", Times: -1, Every: 11},
		faultproxy.Rule{Method: http.MethodGet, Path: "/manifests/", Class: faultproxy.ResetMidBody, Times: -1, Every: 17},
		faultproxy.Rule{Method: http.MethodPut, Path: "/manifests/", Class: faultproxy.Reset, Times: -1, Every: 7},
		faultproxy.Rule{Method: http.MethodGet, Path: "/blobs/sha256:", Class: faultproxy.Truncate, Times: -1, Every: 5},
	)
	srv := gittest.NewServer(t)
	srv.NewRepo(t, "catalog.git")
	bare := srv.Dir("catalog.git")
	gittest.Git(t, bare, "config", "uploadpack.allowFilter", "true")
	gittest.Seed(t, bare, map[string]string{"README.md": "catalog\n"}, "seed")
	gitProxy := faultproxy.New(t, srv.URL)
	gitProxy.Inject(
		faultproxy.Rule{Method: http.MethodPost, Path: "/git-upload-pack", Class: faultproxy.Status502, Times: -1, Every: 9},
		faultproxy.Rule{Method: http.MethodPost, Path: "/git-receive-pack", Class: faultproxy.Reset, Times: -1, Every: 11},
		faultproxy.Rule{Method: http.MethodPost, Path: "/git-upload-pack", Class: faultproxy.Truncate, Times: -1, Every: 13},
	)

	logs := &countLines{counts: map[string]int{}}
	opts := catalog.Options{
		Logger: slog.New(logs),
		OCI:    oci.Options{PlainHTTP: true, Retries: 8, Backoff: 5 * time.Millisecond, RequestTimeout: 5 * time.Second},
		Git:    gitrepo.Options{Retries: 200, RetryDelay: 50 * time.Millisecond, RequestTimeout: 5 * time.Second},
	}
	ociRef, gitRef := "oci://"+regProxy.Host+"/load", "git+"+gitProxy.URL+"/catalog.git"

	type job struct {
		pkg     *chart.Package
		git     bool
		contest bool
	}
	jobs := make([][]job, publishers)
	for p := range publishers {
		for c := range ociCharts {
			jobs[p] = append(jobs[p], job{pkg: charttest.Package(t, t.TempDir(), fmt.Sprintf("app-%d", c), fmt.Sprintf("1.%d.0", p)), git: c < gitCharts})
		}
		contested := charttest.PackageWith(t, "contested", "9.9.9", func(c *helmchart.Chart) { c.Metadata.Description = fmt.Sprintf("publisher %d", p) })
		jobs[p] = append(jobs[p], job{pkg: contested, git: true, contest: true})
	}

	var won [2]atomic.Int64 // OCI, git
	winner := [2]*chart.Package{}
	var winMu sync.Mutex
	errs := make([]error, publishers)
	start := time.Now()
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			ociCat, err := catalog.Open(ociRef, opts)
			if err != nil {
				errs[p] = err
				return
			}
			gitCat, err := catalog.Open(gitRef, opts)
			if err != nil {
				errs[p] = err
				return
			}
			ctx := context.Background()
			for _, j := range jobs[p] {
				if j.contest {
					for i, cat := range []catalog.Catalog{ociCat, gitCat} {
						_, err := cat.Publish(ctx, j.pkg)
						switch {
						case err == nil:
							won[i].Add(1)
							winMu.Lock()
							winner[i] = j.pkg
							winMu.Unlock()
						case !assert.ErrorIs(t, err, catalog.ErrConflict, "a lost race is a conflict"):
							errs[p] = err
							return
						}
					}
					continue
				}
				targets := []publish.Target{ociCat}
				if j.git {
					targets = append(targets, gitCat)
				}
				res, err := publish.Run(ctx, j.pkg, targets, publish.Options{})
				if err != nil {
					errs[p] = err
					return
				}
				for _, r := range res {
					if r.Status != catalog.Published {
						errs[p] = fmt.Errorf("%s to %s: %s, want published", j.pkg, r.Catalog, r.Status)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	for p, err := range errs {
		require.NoError(t, err, "publisher %d", p)
	}

	// git: every entry once, with its digest; every archive once
	data := []byte(gittest.Git(t, bare, "show", "main:index.yaml"))
	idxPath := filepath.Join(t.TempDir(), "index.yaml")
	require.NoError(t, os.WriteFile(idxPath, data, 0o644))
	idx, err := repo.LoadIndexFile(idxPath)
	require.NoError(t, err)
	tree := gittest.Git(t, bare, "ls-tree", "--name-only", "main")
	gitEntries, lost, dup := 0, 0, 0
	for _, cvs := range idx.Entries {
		gitEntries += len(cvs)
		seen := map[string]bool{}
		for _, cv := range cvs {
			if seen[cv.Version] {
				dup++
			}
			seen[cv.Version] = true
		}
	}
	ociChecked := 0
	direct, err := oci.Open(reg.Ref("load"), oci.Options{PlainHTTP: true})
	require.NoError(t, err)
	// pulled through the proxy: the pulls meet faults too (short bodies)
	pulls, err := oci.Open(ociRef, opts.OCI)
	require.NoError(t, err)
	for p := range publishers {
		for _, j := range jobs[p] {
			if j.contest {
				continue
			}
			if j.git {
				cv, err := idx.Get(j.pkg.Name(), j.pkg.Version())
				if err != nil || cv.Digest != j.pkg.Digest.Encoded() {
					lost++
				}
				assert.Equal(t, 1, strings.Count(tree, j.pkg.String()+".tgz\n"), j.pkg.String())
			}
			path, err := pulls.Fetch(context.Background(), j.pkg.Name(), j.pkg.Version(), t.TempDir())
			if assert.NoError(t, err, j.pkg.String()) {
				got, err := chart.Open(path)
				require.NoError(t, err)
				if got.Digest != j.pkg.Digest {
					lost++
				}
				ociChecked++
			}
		}
	}
	assert.Zero(t, lost, "lost or overwritten entries")
	assert.Zero(t, dup, "duplicate index entries")
	assert.Equal(t, publishers*gitCharts+1, gitEntries, "the index holds exactly what was published")

	// the contested version: one winner per catalog, holding its bytes
	for i, name := range []string{"OCI", "git"} {
		assert.EqualValues(t, 1, won[i].Load(), "%s: exactly one publisher of the contested version succeeds", name)
	}
	if winner[0] != nil {
		path, err := direct.Fetch(context.Background(), "contested", "9.9.9", t.TempDir())
		require.NoError(t, err)
		got, err := chart.Open(path)
		require.NoError(t, err)
		assert.Equal(t, winner[0].Digest, got.Digest, "the registry holds the OCI winner's bytes")
	}
	if winner[1] != nil {
		cv, err := idx.Get("contested", "9.9.9")
		require.NoError(t, err)
		assert.Equal(t, winner[1].Digest.Encoded(), cv.Digest, "the index holds the git winner's bytes")
	}

	// Every injected fault class did hit: a load run its faults missed would prove nothing.
	regFaults, gitFaults := regProxy.Faults(), gitProxy.Faults()
	for _, c := range []faultproxy.Class{faultproxy.Status503, faultproxy.TooMany, faultproxy.ResetMidBody, faultproxy.Reset, faultproxy.Truncate} {
		assert.Positive(t, regFaults[c], "registry fault %s injected", c)
	}
	for _, c := range []faultproxy.Class{faultproxy.Status502, faultproxy.Reset, faultproxy.Truncate} {
		assert.Positive(t, gitFaults[c], "git fault %s injected", c)
	}

	t.Logf("LOAD publishers=%d oci_charts=%d git_charts=%d wall=%s oci_checked=%d git_entries=%d lost=%d dup=%d registry_faults=%v git_faults=%v log=%v",
		publishers, publishers*ociCharts+1, publishers*gitCharts+1, took.Round(100*time.Millisecond), ociChecked, gitEntries, lost, dup,
		regFaults, gitFaults, logs.counts)
}
