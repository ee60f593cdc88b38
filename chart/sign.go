package chart

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"helm.sh/helm/v3/pkg/provenance"

	"github.com/chartship/chartship/internal/errdef"
)

// SignOptions configure a provenance file like `helm package --sign`. Signing
// is on when Key is set.
type SignOptions struct {
	Key            string // name (or part of the identity) of the key in Keyring
	Keyring        string // secret keyring file (GnuPG legacy format, e.g. ~/.gnupg/secring.gpg)
	PassphraseFile string // first line is the key's passphrase; unused for unencrypted keys
}

func (o SignOptions) enabled() bool { return o.Key != "" }

// signArchive writes archive+".prov", a clear-signed statement of the chart's
// Chart.yaml and the archive's sha256, which `helm verify` checks.
func signArchive(archive string, o SignOptions) error {
	if o.Keyring == "" {
		return errdef.Usage(fmt.Errorf("signing with key %q needs a keyring: pass --keyring", o.Key))
	}
	signer, err := provenance.NewFromKeyring(o.Keyring, o.Key)
	if err != nil {
		return errdef.Usage(fmt.Errorf("loading signing key %q from keyring %s: %w: check the key name and that the keyring holds secret keys", o.Key, o.Keyring, err))
	}
	err = signer.DecryptKey(func(string) ([]byte, error) {
		if o.PassphraseFile == "" {
			return nil, fmt.Errorf("key %q is encrypted: pass --passphrase-file", o.Key)
		}
		f, err := os.Open(o.PassphraseFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil && line == "" {
			return nil, fmt.Errorf("reading passphrase file %s: %w", o.PassphraseFile, err)
		}
		return []byte(strings.TrimRight(line, "\r\n")), nil
	})
	if err != nil {
		return errdef.Usage(fmt.Errorf("unlocking signing key %q: %w", o.Key, err))
	}
	sig, err := signer.ClearSign(archive)
	if err != nil {
		return errdef.Usage(fmt.Errorf("signing %s with key %q: %w", archive, o.Key, err))
	}
	if err := os.WriteFile(archive+".prov", []byte(sig), 0o644); err != nil {
		return errdef.Usage(fmt.Errorf("writing provenance file: %w", err))
	}
	return nil
}
