package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/chartship/chartship/internal/errdef"
)

// PEM block types of the private keys `cosign generate-key-pair` writes (the
// older name first).
const (
	cosignPrivateKeyPEM   = "ENCRYPTED COSIGN PRIVATE KEY"
	sigstorePrivateKeyPEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
)

// keyPair is a private key read from cosign's encrypted key file, as sigstore-go
// signs with it (sign.Keypair). The signing itself is sigstore's
// (signature.SignerVerifier); this only adapts it.
type keyPair struct {
	sv      signature.SignerVerifier
	pub     crypto.PublicKey
	details signature.AlgorithmDetails
	hint    []byte
}

// loadPrivateKey reads cosign's encrypted private key (scrypt + secretbox over
// PKCS#8, as cosign writes it) with password, as `cosign sign --key` does.
// Errors name the file and what to do; they never hold the password.
func loadPrivateKey(path string, password []byte) (*keyPair, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--cosign-key %s: %w; give the cosign.key `cosign generate-key-pair` wrote", path, errors.Unwrap(err)))
	}
	block, _ := pem.Decode(raw)
	if block == nil || (block.Type != cosignPrivateKeyPEM && block.Type != sigstorePrivateKeyPEM) {
		return nil, errdef.Usage(fmt.Errorf("--cosign-key %s is not a cosign private key (want a PEM block %q, as `cosign generate-key-pair` writes)", path, sigstorePrivateKeyPEM))
	}
	der, err := encrypted.Decrypt(block.Bytes, password)
	if err != nil {
		if strings.Contains(err.Error(), "decryption failed") {
			return nil, errdef.Usage(fmt.Errorf("--cosign-key %s: wrong password; set COSIGN_PASSWORD to the password the key was generated with", path))
		}
		return nil, errdef.Usage(fmt.Errorf("--cosign-key %s: cannot decrypt the key: %w", path, err))
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--cosign-key %s: the decrypted key is not PKCS#8: %w", path, err))
	}
	sv, err := signature.LoadDefaultSignerVerifier(pk, options.WithED25519ph())
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--cosign-key %s: %w", path, err))
	}
	return newKeyPair(sv)
}

func newKeyPair(sv signature.SignerVerifier) (*keyPair, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	details, err := signature.GetDefaultAlgorithmDetails(pub, options.WithED25519ph())
	if err != nil {
		return nil, fmt.Errorf("unsupported key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &keyPair{sv: sv, pub: pub, details: details, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}, nil
}

func (k *keyPair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.details.GetProtoHashType() }
func (k *keyPair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.details.GetSignatureAlgorithm()
}
func (k *keyPair) GetHint() []byte                { return k.hint }
func (k *keyPair) GetPublicKey() crypto.PublicKey { return k.pub }
func (k *keyPair) GetKeyAlgorithm() string {
	switch k.details.GetKeyType() {
	case signature.ECDSA:
		return "ECDSA"
	case signature.RSA:
		return "RSA"
	case signature.ED25519:
		return "ED25519"
	}
	return ""
}
func (k *keyPair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.pub)
	return string(b), err
}

// SignData signs data (the DSSE pre-authentication encoding) and returns the
// signature and the digest that was signed.
func (k *keyPair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	h := k.details.GetHashType().New()
	h.Write(data)
	sig, err := k.sv.SignMessage(bytes.NewReader(data), options.WithContext(ctx))
	if err != nil {
		return nil, nil, err
	}
	return sig, h.Sum(nil), nil
}

// loadPublicKey reads a PEM public key (cosign.pub) for verification.
func loadPublicKey(path string) (signature.Verifier, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--cosign-key %s: %w; give the cosign.pub of the signing key (or the cosign.key itself)", path, errors.Unwrap(err)))
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--cosign-key %s is not a PEM public key (cosign.pub): %w", path, err))
	}
	v, err := signature.LoadDefaultVerifier(pub, options.WithED25519ph())
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--cosign-key %s: %w", path, err))
	}
	return v, nil
}
