// Package gittest serves real bare git repositories over smart HTTP for tests:
// the git binary's own http-backend behind net/http/cgi, with optional basic auth.
// Pushes, ref-lock races and auth failures behave exactly as against a real host.
package gittest

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Server is a smart-HTTP git server over the bare repositories under Root.
type Server struct {
	URL      string // base URL; a repository is at URL + "/" + name
	Root     string // directory holding the bare repositories
	username string
	password string
	requests atomic.Int64
}

// Option configures a Server.
type Option func(*Server)

// WithBasicAuth requires HTTP basic auth with these credentials on every request.
func WithBasicAuth(username, password string) Option {
	return func(s *Server) { s.username, s.password = username, password }
}

// NewServer starts a server that stops when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{Root: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("gittest: git --exec-path: %v (is git installed?)", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + s.Root,
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		user := "anonymous"
		if s.username != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != s.username || p != s.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			user = u
		}
		// REMOTE_USER enables receive-pack (push) in git-http-backend.
		h := *backend
		h.Env = append(append([]string{}, backend.Env...), "REMOTE_USER="+user)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Requests returns how many HTTP requests the server has answered.
func (s *Server) Requests() int64 { return s.requests.Load() }

// NewRepo creates an empty bare repository whose default branch is main and
// returns its URL (without credentials).
func (s *Server) NewRepo(t testing.TB, name string) string {
	t.Helper()
	InitBare(t, s.Dir(name))
	return s.URL + "/" + name
}

// Dir returns the on-disk path of the bare repository name.
func (s *Server) Dir(name string) string { return filepath.Join(s.Root, name) }

// InitBare creates a bare repository at dir with main as its default branch.
func InitBare(t testing.TB, dir string) {
	t.Helper()
	Git(t, "", "init", "--quiet", "--bare", "--initial-branch=main", dir)
	Git(t, dir, "config", "http.receivepack", "true")
}

// Seed commits files (path → content) onto branch main of the bare repository at
// bareDir, creating the branch if needed, and returns the new commit id.
func Seed(t testing.TB, bareDir string, files map[string]string, message string) string {
	t.Helper()
	work := t.TempDir()
	Git(t, "", "clone", "--quiet", bareDir, work)
	Git(t, work, "checkout", "--quiet", "-B", "main")
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Git(t, work, "add", "-A")
	Git(t, work, "commit", "--quiet", "--allow-empty", "-m", message)
	Git(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/main")
	return strings.TrimSpace(Git(t, work, "rev-parse", "HEAD"))
}

// Git runs git in dir with a fixed identity and no user or system config, and
// returns its standard output; it fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, stderr)
	}
	return string(out)
}

// Env is the environment tests run git with: the process environment without any
// user or system git config, and a fixed author and committer.
func Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=chartship test", "GIT_AUTHOR_EMAIL=test@chartship.invalid",
		"GIT_COMMITTER_NAME=chartship test", "GIT_COMMITTER_EMAIL=test@chartship.invalid",
		"GIT_TERMINAL_PROMPT=0",
	)
}
