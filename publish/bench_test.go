package publish_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/publish"
	"github.com/chartship/chartship/sign"
)

// BenchmarkPublishSigning compares a publish to an OCI registry with cosign signing and
// the upgrade-test attestation against the same publish unsigned (the baseline it
// extends), interleaved in one run on one in-process distribution registry (no referrers
// API: the tag-schema fallback), a fresh version each time. It reports each mode's
// median time and requests per publish, and the ratio (also without the decryption of
// cosign's key, scrypt, which a run does once); -v logs the signed publish's requests.
//
//	go test ./publish -run '^$' -bench PublishSigning -benchtime 20x -v
func BenchmarkPublishSigning(b *testing.B) {
	ctx := context.Background()
	reg := registrytest.New(b)
	key, _ := signtest.KeyPair(b, b.TempDir(), "pw")
	pred, err := sign.UpgradeTestPredicate{Chart: "hello", Version: "x", From: []string{"1.0.0"}, Passed: true,
		Scenarios: []sign.UpgradeTestScenario{{Name: "default", Kind: "upgrade", From: "1.0.0", To: "x", Passed: true, Seconds: 20}}}.Predicate()
	require.NoError(b, err)
	signed := publish.Options{Sign: sign.Options{Key: key, Password: "pw"}, Attestations: []sign.Predicate{pred}}

	dir := b.TempDir()
	pkgs := make([][2]*chart.Package, b.N)
	for i := range pkgs {
		pkgs[i] = [2]*chart.Package{
			charttest.Package(b, dir+fmt.Sprintf("/p%d", i), "plain", fmt.Sprintf("1.0.%d", i)),
			charttest.Package(b, dir+fmt.Sprintf("/s%d", i), "signed", fmt.Sprintf("1.0.%d", i)),
		}
	}
	var times [2][]time.Duration
	var keyLoad []time.Duration
	var reqs [2]int
	var added []registrytest.Request
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for mode, opts := range []publish.Options{{}, signed} {
			// A catalog per publish, as each CLI run opens one.
			c, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
			require.NoError(b, err)
			reg.ResetRequests()
			t0 := time.Now()
			res, err := publish.Run(ctx, pkgs[i][mode], []publish.Target{c}, opts)
			times[mode] = append(times[mode], time.Since(t0))
			if err != nil || res[0].Status != catalog.Published {
				b.Fatalf("publish: %v %v", res, err)
			}
			reqs[mode] += len(reg.RegistryRequests())
			if mode == 1 && i == 0 {
				added = reg.RegistryRequests()
			}
		}
		// What of the signed publish is decrypting cosign's key (scrypt), once per run.
		t0 := time.Now()
		if _, err := sign.New(signed.Sign); err != nil {
			b.Fatal(err)
		}
		keyLoad = append(keyLoad, time.Since(t0))
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	b.ReportMetric(med(times[0]), "plain-ms")
	b.ReportMetric(med(times[1]), "signed-ms")
	b.ReportMetric(med(times[1])/med(times[0]), "x-slower")
	b.ReportMetric(med(keyLoad), "key-decrypt-ms")
	b.ReportMetric((med(times[1])-med(keyLoad))/med(times[0]), "x-slower-without-key-decrypt")
	b.ReportMetric(float64(reqs[0])/float64(b.N), "plain-req/op")
	b.ReportMetric(float64(reqs[1])/float64(b.N), "signed-req/op")
	b.Logf("the signed publish's requests:\n%s", requestSummary(added))
}

var digestPart = regexp.MustCompile(`sha256[:-][0-9a-f]{64}`)

// requestSummary counts requests by method and path shape.
func requestSummary(reqs []registrytest.Request) string {
	counts := map[string]int{}
	for _, r := range reqs {
		p := digestPart.ReplaceAllString(r.Path, "<digest>")
		if i := strings.Index(p, "/blobs/uploads/"); i >= 0 {
			p = p[:i] + "/blobs/uploads/…"
		}
		counts[fmt.Sprintf("%-4s %s → %d", r.Method, p, r.Status)]++
	}
	var lines []string
	for k, n := range counts {
		lines = append(lines, fmt.Sprintf("  %2d× %s", n, k))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
