package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SSHSigningKey makes an ed25519 key without a passphrase with ssh-keygen in a
// temporary directory and returns the private key's file and an allowed-signers
// file (gpg.ssh.allowedSignersFile) that trusts it for every principal. It
// skips the test when ssh-keygen is missing.
func SSHSigningKey(t testing.TB) (key, allowedSigners string) {
	t.Helper()
	NeedTool(t, "ssh-keygen")
	dir := t.TempDir()
	key = filepath.Join(dir, "signing_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "chartship test", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	allowedSigners = filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowedSigners, []byte(`* namespaces="git" `+strings.TrimSpace(string(pub))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, allowedSigners
}

// VerifyCommit runs git verify-commit on rev in the repository dir with the
// given extra config (e.g. gpg.ssh.allowedSignersFile=FILE) and returns git's
// output and whether the signature was good.
func VerifyCommit(t testing.TB, dir, rev string, config ...string) (string, bool) {
	t.Helper()
	args := []string{}
	for _, c := range config {
		args = append(args, "-c", c)
	}
	cmd := exec.Command("git", append(args, "verify-commit", "--raw", rev)...)
	cmd.Dir = dir
	cmd.Env = Env()
	if gh := os.Getenv("GNUPGHOME"); gh != "" {
		cmd.Env = append(cmd.Env, "GNUPGHOME="+gh)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// NeedTool returns the path of the program name, or skips the test when it is
// not installed, or fails it under CI=true, where scripts/test installs it and
// a skip would hide a test that never ran.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (scripts/test installs it; CI=true makes this a failure, not a skip)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}
