package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/registrytest"
)

// writeKeyPair writes a key pair in cosign's format, as `cosign generate-key-pair`
// does: an ECDSA P-256 key, PKCS#8, encrypted with scrypt + secretbox under password.
func writeKeyPair(t testing.TB, dir, password string) (key, pub string) {
	t.Helper()
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(pk)
	require.NoError(t, err)
	enc, err := encrypted.Encrypt(der, []byte(password))
	require.NoError(t, err)
	key, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: enc}), 0o600))
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pk.Public())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(pub, pubPEM, 0o644))
	return key, pub
}

// published pushes a test chart to a namespace of reg and returns the catalog and package.
func published(t testing.TB, reg *registrytest.Registry, name, version string) (*oci.Catalog, *chart.Package) {
	t.Helper()
	cat, err := oci.Open(reg.Ref("charts"), oci.Options{PlainHTTP: true, Retries: 0})
	require.NoError(t, err)
	pkg := charttest.Package(t, t.TempDir(), name, version)
	_, err = cat.Publish(context.Background(), pkg)
	require.NoError(t, err)
	return cat, pkg
}

func writes(reqs []registrytest.Request) (n int) {
	for _, r := range reqs {
		if r.IsWrite() {
			n++
		}
	}
	return n
}

func repoRef(reg *registrytest.Registry, name string) string {
	return strings.TrimPrefix(reg.Ref("charts"), "oci://") + "/" + name
}

func base64url(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
