package chart

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/provenance"

	"github.com/chartship/chartship/internal/errdef"
)

// writeKeyring generates a throwaway key and writes it as a secret keyring (the
// GnuPG legacy format `helm package --sign` reads). With a passphrase, the key
// is encrypted.
func writeKeyring(t *testing.T, passphrase string) string {
	t.Helper()
	e, err := openpgp.NewEntity("chartship test", "", "test@chartship.example", nil)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "secring.gpg")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	if passphrase == "" {
		require.NoError(t, e.SerializePrivate(f, nil))
	} else {
		require.NoError(t, e.EncryptPrivateKeys([]byte(passphrase), nil))
		require.NoError(t, e.SerializePrivateWithoutSigning(f, nil))
	}
	return path
}

func TestBuildSign(t *testing.T) {
	ctx := context.Background()
	r := helloRepo(t)
	r.git("tag", "v1.4.0")

	t.Run("unencrypted key", func(t *testing.T) {
		ring := writeKeyring(t, "")
		res, err := Build(ctx, r.dir, BuildOptions{Destination: t.TempDir(), Sign: SignOptions{Key: "chartship test", Keyring: ring}})
		require.NoError(t, err)
		require.Equal(t, res.Package.Path+".prov", res.Package.ProvPath)

		// helm verify's check: the signature is good and names this archive's digest.
		v, err := provenance.NewFromKeyring(ring, "")
		require.NoError(t, err)
		ver, err := v.Verify(res.Package.Path, res.Package.ProvPath)
		require.NoError(t, err)
		assert.Equal(t, "sha256:"+fileSHA(t, res.Package.Path), ver.FileHash)
		assert.Equal(t, "hello-1.4.0.tgz", ver.FileName)

		p, err := Open(res.Package.Path)
		require.NoError(t, err)
		assert.Equal(t, res.Package.ProvPath, p.ProvPath)

		// An unsigned rebuild into the same place drops the stale signature.
		res2, err := Build(ctx, r.dir, BuildOptions{Destination: filepath.Dir(res.Package.Path)})
		require.NoError(t, err)
		assert.Empty(t, res2.Package.ProvPath)
		assert.NoFileExists(t, res.Package.ProvPath)
	})
	t.Run("encrypted key with passphrase file", func(t *testing.T) {
		ring := writeKeyring(t, "correct horse")
		pass := filepath.Join(t.TempDir(), "pass")
		require.NoError(t, os.WriteFile(pass, []byte("correct horse\n"), 0o600))
		res, err := Build(ctx, r.dir, BuildOptions{Destination: t.TempDir(), Sign: SignOptions{Key: "test@chartship.example", Keyring: ring, PassphraseFile: pass}})
		require.NoError(t, err)
		assert.FileExists(t, res.Package.ProvPath)

		dest := t.TempDir()
		_, err = Build(ctx, r.dir, BuildOptions{Destination: dest, Sign: SignOptions{Key: "chartship test", Keyring: ring}})
		require.ErrorIs(t, err, errdef.ErrUsage)
		assert.Contains(t, err.Error(), "--passphrase-file")
		assert.Empty(t, filesUnder(t, dest), "nothing written")
	})
	t.Run("unknown key", func(t *testing.T) {
		ring := writeKeyring(t, "")
		dest := t.TempDir()
		_, err := Build(ctx, r.dir, BuildOptions{Destination: dest, Sign: SignOptions{Key: "nobody", Keyring: ring}})
		require.ErrorIs(t, err, errdef.ErrUsage)
		assert.Contains(t, err.Error(), `"nobody"`)
		assert.Empty(t, filesUnder(t, dest))
	})
}
