// Package git runs the git command-line tool (2.25 or newer) for chartship: one
// Repo is a working directory and the credentials to reach its remote. Secrets
// never appear on a command line, in an error or in a log line: a token reaches
// git through a credential helper that reads it from the environment, an SSH key
// through GIT_SSH_COMMAND pointing at a private file.
package git

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/redact"
)

// Auth is how to reach a remote. The zero value uses no credentials beyond what
// git itself finds (which, for HTTPS, never includes a terminal prompt).
type Auth struct {
	Username string // HTTPS user name; "x-access-token" when only Token is set
	Token    string // HTTPS password or token (GitHub token)
	SSHKey   string // path to an SSH private key for ssh:// remotes
}

// Repo is a git working directory.
type Repo struct {
	Dir    string
	Auth   Auth
	Logger *slog.Logger
	// Env is added to git's environment (e.g. GIT_AUTHOR_NAME=…).
	Env []string
	// Sign configures commit signing for every command (commits are signed
	// when the caller passes Sign.SignArg()).
	Sign Signing
	// StallTimeout makes git abandon an HTTP(S) transfer that moves less than
	// one byte a second for this long (http.lowSpeedLimit/lowSpeedTime, whole
	// seconds, at least 1); 0 leaves git's own settings. The failure matches
	// IsTransient.
	StallTimeout time.Duration
}

// Error is a failed git command: its arguments (redacted), exit status and the
// redacted standard error.
type Error struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs git with args in the repository's directory and returns its standard
// output.
func (r *Repo) Run(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	err := r.runW(ctx, &out, args...)
	return out.String(), err
}

// RunIn runs git with stdin as its standard input and returns its standard output.
func (r *Repo) RunIn(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	var out bytes.Buffer
	err := r.runIO(ctx, stdin, &out, args...)
	return out.String(), err
}

// RunBytes runs git with stdin (nil: none) and returns its standard output as
// bytes (objects read with cat-file --batch are binary and large).
func (r *Repo) RunBytes(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := r.runIO(ctx, stdin, &out, args...)
	return out.Bytes(), err
}

// RunTo runs git and writes its standard output to path (for blobs).
func (r *Repo) RunTo(ctx context.Context, path string, args ...string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.runW(ctx, f, args...); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func (r *Repo) runW(ctx context.Context, stdout io.Writer, args ...string) error {
	return r.runIO(ctx, nil, stdout, args...)
}

func (r *Repo) runIO(ctx context.Context, stdin io.Reader, stdout io.Writer, args ...string) error {
	log := logging.OrDiscard(r.Logger)
	full := append(append(append(r.authArgs(), r.stallArgs()...), r.Sign.configArgs()...), args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = r.Dir
	cmd.Env = append(append(os.Environ(), r.Env...), r.authEnv()...)
	cmd.Env = append(cmd.Env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	cmd.Stderr = &stderr
	shown := r.redactArgs(args)
	log.Debug("git", "args", strings.Join(shown, " "), "dir", r.Dir)
	t0 := time.Now()
	err := cmd.Run()
	log.Debug("git done", "args", strings.Join(shown, " "), "took", time.Since(t0).Round(100*time.Microsecond).String())
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &Error{Args: shown, Stderr: r.redactText(stderr.String()), Err: err}
	}
	return nil
}

// authArgs configures a credential helper that hands git the token from the
// environment: the token is in no argument and no file.
func (r *Repo) authArgs() []string {
	if r.Auth.Token == "" {
		return nil
	}
	return []string{
		"-c", "credential.helper=",
		"-c", `credential.helper=!f() { test "$1" = get || exit 0; echo "username=$CHARTSHIP_CREDENTIAL_USERNAME"; echo "password=$CHARTSHIP_CREDENTIAL_PASSWORD"; }; f`,
		"-c", "credential.useHttpPath=false",
	}
}

func (r *Repo) stallArgs() []string {
	if r.StallTimeout <= 0 {
		return nil
	}
	secs := max(int64((r.StallTimeout+time.Second-1)/time.Second), 1)
	return []string{"-c", "http.lowSpeedLimit=1", "-c", fmt.Sprintf("http.lowSpeedTime=%d", secs)}
}

func (r *Repo) authEnv() []string {
	var env []string
	if r.Auth.Token != "" {
		user := r.Auth.Username
		if user == "" {
			user = "x-access-token"
		}
		env = append(env, "CHARTSHIP_CREDENTIAL_USERNAME="+user, "CHARTSHIP_CREDENTIAL_PASSWORD="+r.Auth.Token)
	}
	if r.Auth.SSHKey != "" {
		env = append(env, "GIT_SSH_COMMAND="+SSHCommand(r.Auth.SSHKey))
	}
	return env
}

// SSHCommand is the ssh command git uses with key: only that key, no agent, no
// prompt; a host seen the first time is accepted (CI machines start empty).
func SSHCommand(key string) string {
	q := "'" + strings.ReplaceAll(key, "'", `'\''`) + "'"
	return "ssh -i " + q + " -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
}

func (r *Repo) redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, "://") {
			a = redact.URL(a)
		}
		out[i] = r.redactText(a)
	}
	return out
}

func (r *Repo) redactText(s string) string {
	return redact.String(s, r.Auth.Token)
}

// WriteSSHKey writes key material (as CircleCI or a secret store hands it over)
// to a private file in dir and returns its path.
func WriteSSHKey(dir string, key []byte) (string, error) {
	if !bytes.HasSuffix(key, []byte("\n")) {
		key = append(append([]byte{}, key...), '\n')
	}
	p := filepath.Join(dir, "ssh-key")
	if err := os.WriteFile(p, key, 0o600); err != nil {
		return "", fmt.Errorf("writing the SSH key to a private file: %w", err)
	}
	return p, nil
}

// DecodeSSHKey decodes an SSH private key stored base64-encoded in a CI
// variable (as CircleCI and others keep multi-line secrets); a key that is
// already PEM text is returned as it is.
func DecodeSSHKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		return []byte(s + "\n"), nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, errdef.Usage(errors.New("the SSH key variable is neither a PEM key nor base64 of one"))
	}
	if !bytes.Contains(b, []byte("PRIVATE KEY")) {
		return nil, errdef.Usage(errors.New("the SSH key variable decodes to something that is not a private key"))
	}
	return b, nil
}

// IsPushRejected reports a push the remote refused because the branch moved:
// fetch, re-apply and push again.
func IsPushRejected(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	s := ge.Stderr
	for _, m := range []string{"non-fast-forward", "fetch first", "cannot lock ref", "failed to update ref", "[rejected]", "stale info", "failed to lock", "incorrect old value"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// IsAuthFailure reports a remote that refused the credentials.
func IsAuthFailure(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	s := ge.Stderr
	for _, m := range []string{"Authentication failed", "could not read Username", "could not read Password", "Permission denied (publickey", "returned error: 401", "returned error: 403", "HTTP 401", "HTTP 403", "terminal prompts disabled", "invalid credentials"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// LastLine is the last line of git's complaint in err (err's text when it is
// no git failure or git said nothing), for a retry's log.
func LastLine(err error) string {
	var ge *Error
	if !errors.As(err, &ge) || strings.TrimSpace(ge.Stderr) == "" {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(ge.Stderr), "\n")
	return lines[len(lines)-1]
}

// IsTransient reports a git failure worth another try: the connection broke,
// the transfer stalled (StallTimeout), or the server answered 5xx, 408 or 429.
// Other 4xx answers, a TLS certificate that doesn't verify and a missing
// repository fail at once: trying again can't help, and the error says what to
// fix. A host that doesn't resolve is retried: in CI that is mostly a DNS blip,
// and a typo costs only the backoff.
func IsTransient(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) || IsAuthFailure(err) || IsPushRejected(err) {
		return false
	}
	s := ge.Stderr
	// curl's "The requested URL returned error: 404" (also behind "RPC failed")
	// (the last one: a partial clone's lazy fetches add their lines before it)
	if i := strings.LastIndex(s, "returned error: "); i >= 0 && len(s) >= i+19 {
		code := s[i+16 : i+19]
		if code[0] == '4' && code != "408" && code != "429" {
			return false
		}
	}
	for _, m := range []string{
		"Operation too slow", "returned error: 5", "returned error: 408", "returned error: 429", "Connection reset", "connection reset",
		"RPC failed", "early EOF", "unexpected disconnect", "transfer closed", "Empty reply from server",
		"the remote end hung up unexpectedly", "Recv failure", "Send failure", "Failed to connect", "Connection refused",
		"bad pack header", "index-pack failed", "did not send all necessary objects", "expected flush", "protocol error",
		"Couldn't connect", "Connection timed out", "GnuTLS recv error", "SSL_read", "was not closed cleanly",
		"SSL_connect", "gnutls_handshake", "HTTP2 framing", "from proxy after CONNECT", "Failure when receiving",
		"Could not resolve host", "Could not resolve proxy",
	} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
