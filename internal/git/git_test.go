package git

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/gittest"
)

func TestRunWithTokenOverHTTP(t *testing.T) {
	srv := gittest.NewServer(t, gittest.WithBasicAuth("ci", "the-token"))
	url := srv.NewRepo(t, "r.git")
	gittest.Seed(t, srv.Dir("r.git"), map[string]string{"a": "b"}, "seed")
	ctx := context.Background()

	r := &Repo{Dir: t.TempDir(), Auth: Auth{Username: "ci", Token: "the-token"}}
	out, err := r.Run(ctx, "ls-remote", url, "refs/heads/main")
	require.NoError(t, err)
	assert.Contains(t, out, "refs/heads/main")

	r.Auth.Token = "wrong-secret"
	_, err = r.Run(ctx, "ls-remote", url)
	require.Error(t, err)
	assert.True(t, IsAuthFailure(err), err.Error())
	assert.False(t, IsPushRejected(err))
	assert.NotContains(t, err.Error(), "wrong-secret")

	// No credential at all: git must fail, never prompt.
	r.Auth = Auth{}
	_, err = r.Run(ctx, "ls-remote", url)
	require.Error(t, err)
	assert.True(t, IsAuthFailure(err), err.Error())
}

func TestErrorsAreClassified(t *testing.T) {
	for _, stderr := range []string{
		" ! [rejected]        HEAD -> main (fetch first)\nerror: failed to push some refs",
		" ! [remote rejected] HEAD -> main (cannot lock ref 'refs/heads/main': is at 1 but expected 2)",
		" ! [rejected]        HEAD -> main (non-fast-forward)",
	} {
		assert.True(t, IsPushRejected(&Error{Stderr: stderr, Err: errors.New("exit status 1")}), stderr)
	}
	assert.False(t, IsPushRejected(errors.New("plain")))
	assert.Equal(t, `ssh -i '/tmp/it'\''s key' -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=accept-new`, SSHCommand("/tmp/it's key"))
}

func TestDecodeSSHKey(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
	b, err := DecodeSSHKey("LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0KYWJjCi0tLS0tRU5EIE9QRU5TU0ggUFJJVkFURSBLRVktLS0tLQo=")
	require.NoError(t, err)
	assert.Equal(t, key, string(b))
	b, err = DecodeSSHKey(key)
	require.NoError(t, err)
	assert.Equal(t, key, string(b))
	_, err = DecodeSSHKey("bm90IGEga2V5")
	assert.True(t, errors.Is(err, errdef.ErrUsage))
}

func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		stderr          string
		auth, transient bool
	}{
		{"fatal: Authentication failed for 'http://h/x.git/'", true, false},
		{"fatal: unable to access 'http://h/x.git/': The requested URL returned error: 403", true, false},
		{"error: RPC failed; HTTP 401 curl 22 The requested URL returned error: 401", true, false},
		// a byte count with 403 in it is no auth failure (found by the load test)
		{"error: RPC failed; curl 18 transfer closed with 4033 bytes remaining to read\nfatal: early EOF", false, true},
		{"error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502", false, true},
		{"error: RPC failed; curl 28 Operation too slow. Less than 1 bytes/sec transferred the last 1 seconds", false, true},
		{"error: RPC failed; curl 56 Recv failure: Connection reset by peer", false, true},
		{" ! [rejected]        HEAD -> main (fetch first)", false, false},
		{"fatal: repository 'http://h/x.git/' not found", false, false},
		// what trying again can't mend fails at once
		{"error: RPC failed; HTTP 404 curl 22 The requested URL returned error: 404", false, false},
		{"fatal: unable to access 'https://h/x.git/': The requested URL returned error: 400", false, false},
		{"fatal: unable to access 'https://nope.invalid/x.git/': Could not resolve host: nope.invalid", false, true},
		{"fatal: unable to access 'https://h/x.git/': OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to h:443", false, true},
		{"fatal: unable to access 'https://h/x.git/': gnutls_handshake() failed: The TLS connection was non-properly terminated.", false, true},
		{"fatal: unable to access 'https://h/x.git/': Received HTTP code 503 from proxy after CONNECT", false, true},
		// the last answer decides: a lazy fetch's 502, then the command's 404
		{"error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502\nfatal: unable to access 'https://h/x.git/': The requested URL returned error: 404", false, false},
		{"error: RPC failed; HTTP 404 curl 22 The requested URL returned error: 404\nerror: RPC failed; HTTP 503 curl 22 The requested URL returned error: 503", false, true},
		{"fatal: unable to access 'https://h/x.git/': SSL certificate problem: unable to get local issuer certificate", false, false},
		// what may mend
		{"fatal: unable to access 'https://h/x.git/': Failed to connect to h port 443 after 3 ms: Couldn't connect to server", false, true},
		{"fatal: unable to access 'https://h/x.git/': The requested URL returned error: 429", false, true},
		{"fatal: unable to access 'https://h/x.git/': The requested URL returned error: 408", false, true},
		{"error: RPC failed; curl 56 GnuTLS recv error (-110): The TLS connection was non-properly terminated.", false, true},
		{"error: RPC failed; curl 92 HTTP/2 stream 5 was not closed cleanly: PROTOCOL_ERROR (err 1)", false, true},
		{"fatal: unable to access 'https://h/x.git/': Failed to connect to h port 443: Connection timed out", false, true},
	} {
		err := &Error{Args: []string{"x"}, Stderr: tc.stderr, Err: errors.New("exit status 128")}
		assert.Equal(t, tc.auth, IsAuthFailure(err), "auth: %s", tc.stderr)
		assert.Equal(t, tc.transient, IsTransient(err), "transient: %s", tc.stderr)
	}
}

func TestLastLine(t *testing.T) {
	err := &Error{Args: []string{"push"}, Stderr: "error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502\nfatal: the remote end hung up unexpectedly\n", Err: errors.New("exit status 128")}
	assert.Equal(t, "fatal: the remote end hung up unexpectedly", LastLine(err))
	assert.Equal(t, "not git", LastLine(errors.New("not git")))
	quiet := &Error{Args: []string{"push"}, Err: errors.New("exit status 1")}
	assert.Equal(t, quiet.Error(), LastLine(quiet))
}
