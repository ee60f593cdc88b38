package publish_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/registrytest"
	"github.com/chartship/chartship/internal/signtest"
	"github.com/chartship/chartship/publish"
	"github.com/chartship/chartship/sign"
)

// TestRunSignsOCIPushes: with a cosign key, the OCI push carries a verified signature
// and the attestation; the git catalog (which has the .prov) is left as it was; a
// re-run signs nothing twice.
func TestRunSignsOCIPushes(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	bare := filepath.Join(t.TempDir(), "catalog.git")
	gittest.InitBare(t, bare)
	gittest.Seed(t, bare, map[string]string{"README.md": "catalog\n"}, "init")
	ociCat, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	git, err := catalog.Open("git+file://"+bare, catalog.Options{})
	require.NoError(t, err)
	pkg := charttest.Package(t, t.TempDir(), "hello", "1.0.0")
	key, pub := signtest.KeyPair(t, t.TempDir(), "pw")
	pred, err := sign.UpgradeTestPredicate{Chart: "hello", Version: "1.0.0", FirstRelease: true, Passed: true}.Predicate()
	require.NoError(t, err)
	opts := publish.Options{Sign: sign.Options{Key: key, Password: "pw"}, Attestations: []sign.Predicate{pred}}

	res, err := publish.Run(ctx, pkg, []publish.Target{ociCat, git}, opts)
	require.NoError(t, err)
	require.Len(t, res[0].Signatures, 2)
	assert.Equal(t, sign.Signed, res[0].Signatures[0].Status)
	assert.Equal(t, sign.UpgradeTestPredicateType, res[0].Signatures[1].PredicateType)
	assert.Empty(t, res[1].Signatures)

	v, err := sign.NewVerifier(sign.VerifyOptions{Key: pub})
	require.NoError(t, err)
	got, err := v.Verify(ctx, ociCat.(sign.Store), "hello", "1.0.0")
	require.NoError(t, err)
	assert.Len(t, got.Statements, 2)

	res, err = publish.Run(ctx, pkg, []publish.Target{ociCat, git}, opts)
	require.NoError(t, err)
	assert.Equal(t, catalog.AlreadyPublished, res[0].Status)
	assert.Equal(t, sign.AlreadySigned, res[0].Signatures[0].Status)
	assert.Equal(t, sign.AlreadySigned, res[0].Signatures[1].Status)
}

// TestRunWrongKeyPasswordPushesNothing: the key is read before any push.
func TestRunWrongKeyPasswordPushesNothing(t *testing.T) {
	reg := registrytest.New(t)
	ociCat, err := catalog.Open(reg.Ref("charts"), catalog.Options{OCI: oci.Options{PlainHTTP: true}})
	require.NoError(t, err)
	pkg := charttest.Package(t, t.TempDir(), "hello", "1.0.0")
	key, _ := signtest.KeyPair(t, t.TempDir(), "pw")
	_, err = publish.Run(context.Background(), pkg, []publish.Target{ociCat}, publish.Options{Sign: sign.Options{Key: key, Password: "nope"}})
	require.Error(t, err)
	assert.ErrorIs(t, err, errdef.ErrUsage)
	assert.Contains(t, err.Error(), "wrong password")
	assert.Empty(t, reg.Requests())
}
