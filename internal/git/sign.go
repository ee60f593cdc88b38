package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/chartship/chartship/internal/errdef"
)

// Signing formats: git's gpg.format values chartship accepts.
const (
	SignSSH     = "ssh"
	SignOpenPGP = "openpgp"
)

// Signing signs commits with git's own signing (gpg.format, user.signingkey,
// commit -S), as Flux signs its commits. The zero value signs nothing.
//
// For SignSSH (the default format) Key is a private key file without a
// passphrase, or a public key file whose private key ssh-agent holds; git runs
// ssh-keygen -Y sign with it. For SignOpenPGP Key is a key id or fingerprint
// in the keyring gpg finds ($GNUPGHOME, else ~/.gnupg); its secret key must
// need no passphrase, or gpg-agent must hold it.
type Signing struct {
	Key    string
	Format string
}

// Enabled reports whether commits are signed.
func (s Signing) Enabled() bool { return s.Key != "" }

// Validate checks the format and, for SSH, that the key file is readable.
// The errors are usage errors naming the key and what to do.
func (s Signing) Validate() error {
	switch s.Format {
	case "", SignSSH, SignOpenPGP:
	default:
		return errdef.Usage(fmt.Errorf("commit signing format %q: use %s or %s", s.Format, SignSSH, SignOpenPGP))
	}
	if s.Key == "" {
		if s.Format != "" {
			return errdef.Usage(errors.New("a commit signing format without a signing key: give the key (--commit-signing-key, commits.signingKey)"))
		}
		return nil
	}
	if s.Format == SignOpenPGP {
		return nil
	}
	f, err := os.Open(s.Key)
	if err == nil {
		_, err = f.Read(make([]byte, 1))
		f.Close()
	}
	if err != nil {
		return errdef.Usage(fmt.Errorf("commit signing key %s: %w: give a readable SSH private key file (--commit-signing-key, commits.signingKey)", s.Key, unwrapPath(err)))
	}
	return nil
}

// unwrapPath drops the path os errors repeat.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// configArgs are the -c options that make git sign with s (none when disabled).
func (s Signing) configArgs() []string {
	if !s.Enabled() {
		return nil
	}
	format, key := s.Format, s.Key
	if format == "" {
		format = SignSSH
	}
	if format == SignSSH {
		if abs, err := filepath.Abs(key); err == nil {
			key = abs // git runs in other directories
		}
	}
	return []string{"-c", "gpg.format=" + format, "-c", "user.signingkey=" + key}
}

// SignArg is the option that makes commit and commit-tree sign ("-S"), or
// "--no-gpg-sign" when s is disabled (a user's commit.gpgsign does not apply).
func (s Signing) SignArg() string {
	if s.Enabled() {
		return "-S"
	}
	return "--no-gpg-sign"
}

// Explain turns the failure of a signed commit into a usage error naming the
// key and the fix when git's complaint is about signing; other errors are
// returned as they are. Git's message names the key file, never its content.
func (s Signing) Explain(err error) error {
	if err == nil || !s.Enabled() {
		return err
	}
	var ge *Error
	if !errors.As(err, &ge) {
		return err
	}
	msg := strings.ToLower(ge.Stderr)
	if !strings.Contains(msg, "sign") && !strings.Contains(msg, "key") && !strings.Contains(msg, "gpg") {
		return err
	}
	lines := strings.Split(strings.TrimSpace(ge.Stderr), "\n")
	why := strings.TrimSpace(lines[0])
	fix := "give an SSH private key without a passphrase (or its public key with the private key in ssh-agent)"
	if s.Format == SignOpenPGP {
		fix = "give the id of a secret key in gpg's keyring ($GNUPGHOME) that needs no passphrase (or is unlocked in gpg-agent)"
	}
	return errdef.Usage(fmt.Errorf("signing the commit with the %s key %s failed (%s): %s (--commit-signing-key, commits.signingKey)", formatName(s.Format), s.Key, why, fix))
}

func formatName(f string) string {
	if f == SignOpenPGP {
		return "OpenPGP"
	}
	return "SSH"
}

// Check signs a commit of the empty tree in a throwaway repository with git,
// as the real commits will be signed, so that a key git can't use fails before
// anything is built or pushed (the error as Explain gives it).
func (s Signing) Check(ctx context.Context) error {
	if !s.Enabled() {
		return nil
	}
	if err := s.Validate(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "chartship-sign-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r := &Repo{Dir: dir, Sign: s, Env: []string{
		"GIT_AUTHOR_NAME=chartship", "GIT_AUTHOR_EMAIL=chartship@invalid",
		"GIT_COMMITTER_NAME=chartship", "GIT_COMMITTER_EMAIL=chartship@invalid",
	}}
	if _, err := r.Run(ctx, "init", "--quiet", "--bare"); err != nil {
		return err
	}
	tree, err := r.RunIn(ctx, strings.NewReader(""), "hash-object", "-t", "tree", "-w", "--stdin")
	if err != nil {
		return err
	}
	_, err = r.Run(ctx, "commit-tree", s.SignArg(), "-m", "chartship: signing check", strings.TrimSpace(tree))
	return s.Explain(err)
}
