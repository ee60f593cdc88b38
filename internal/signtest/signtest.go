// Package signtest makes cosign key pairs for tests, in the format `cosign
// generate-key-pair` writes (the interop tests also run the real cosign CLI).
package signtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/stretchr/testify/require"
)

// KeyPair writes dir/cosign.key and dir/cosign.pub: an ECDSA P-256 key as PKCS#8,
// encrypted with scrypt + secretbox under password, as cosign does.
func KeyPair(t testing.TB, dir, password string) (key, pub string) {
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
