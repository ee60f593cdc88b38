package release_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/internal/testcluster"
	"github.com/chartship/chartship/release"
	"github.com/chartship/chartship/sign"
	"github.com/chartship/chartship/upgradetest"
)

// TestReleaseSignsAndAttestsTheUpgradeTest: a release with a cosign key signs the OCI
// push and attaches the signed upgrade-test attestation — the first release an install
// test, the next one the upgrade from it — which verify accepts; the git-catalog-style
// upgrade-test.json referrer is still there beside them.
func TestReleaseSignsAndAttestsTheUpgradeTest(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	cluster, err := upgradetest.KubeconfigCluster(kc, "")
	require.NoError(t, err)
	reg := registrytest.New(t)
	key, pub := signtest.KeyPair(t, t.TempDir(), "pw")
	copts := catalog.DefaultOptions()
	copts.OCI = oci.Options{PlainHTTP: true}
	opts := func(version string) release.Options {
		return release.Options{
			Package: chart.BuildOptions{
				Destination: t.TempDir(),
				Version:     chart.VersionOptions{Version: version},
				Name:        chart.NameOptions{AllowMismatch: true},
			},
			Routing:          release.Routing{To: []string{reg.Ref("charts")}},
			Catalogs:         copts,
			Test:             &release.TestOptions{Cluster: cluster, Upgrade: upgradetest.Options{SkipTests: true, Timeout: 2 * time.Minute}},
			Sign:             sign.Options{Key: key, Password: "pw"},
			ChartshipVersion: "test",
		}
	}
	ctx := context.Background()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		res, err := release.Run(ctx, "../testdata/charts/hello", opts(v))
		require.NoError(t, err, v)
		require.Len(t, res.Published, 1)
		sigs := res.Published[0].Signatures
		require.Len(t, sigs, 2, v)
		assert.Equal(t, sign.SignPredicateType, sigs[0].PredicateType)
		assert.Equal(t, sign.UpgradeTestPredicateType, sigs[1].PredicateType)
	}

	cat, err := oci.Open(reg.Ref("charts"), oci.Options{PlainHTTP: true})
	require.NoError(t, err)
	v, err := sign.NewVerifier(sign.VerifyOptions{Key: pub})
	require.NoError(t, err)
	got, err := v.VerifyUpgrade(ctx, cat, "hello", "1.1.0", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0"}, got.UpgradeTest.From)
	assert.Equal(t, "test", got.UpgradeTest.ChartshipVersion)
	assert.NotEmpty(t, got.UpgradeTest.KubernetesVersion)
	assert.Equal(t, 3, got.Referrers, "signature, attestation, upgrade-test.json, and nothing twice")

	first, err := v.Verify(ctx, cat, "hello", "1.0.0")
	require.NoError(t, err)
	var firstRelease bool
	for _, s := range first.Statements {
		if s.PredicateType == sign.UpgradeTestPredicateType {
			firstRelease = true
			assert.JSONEq(t, `true`, string(mustField(t, s.Predicate, "firstRelease")))
		}
	}
	assert.True(t, firstRelease)
}

func mustField(t *testing.T, doc []byte, field string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(doc, &m))
	return m[field]
}

// TestPlanSaysItSigns: the dry-run plan names the signing and the attestation.
func TestPlanSaysItSigns(t *testing.T) {
	reg := registrytest.New(t)
	copts := catalog.DefaultOptions()
	copts.OCI = oci.Options{PlainHTTP: true}
	p, err := release.NewPlan(context.Background(), "../testdata/charts/hello", release.Options{
		Package:  chart.BuildOptions{Destination: t.TempDir(), Version: chart.VersionOptions{Version: "1.0.0"}, Name: chart.NameOptions{AllowMismatch: true}},
		Routing:  release.Routing{To: []string{reg.Ref("charts")}},
		Catalogs: copts,
		Test:     &release.TestOptions{},
		Sign:     sign.Options{Key: "cosign.key"},
		DryRun:   true,
	})
	require.NoError(t, err)
	var b strings.Builder
	p.Text(&b)
	assert.Contains(t, b.String(), "sign         OCI pushes: cosign key cosign.key, with the signed upgrade-test attestation")
}
