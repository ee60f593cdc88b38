// Package githubtest is a test double of the GitHub REST API's pull-request
// endpoints, backed by real bare git repositories (those of a gittest.Server):
// branches and head commits are read from the repositories, and every answer
// uses GitHub's real status codes and JSON bodies — 201 on create, 422
// "Validation Failed" (a pull request already exists, no such branch, no
// commits between), 401 "Bad credentials", 404 "Not Found".
package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// PullRequest is one pull request the double holds.
type PullRequest struct {
	Number int
	Owner  string
	Repo   string
	Title  string
	Body   string
	Head   string // branch
	Base   string // branch
	State  string // open or closed
}

// Server is the API double. Repository OWNER/NAME is the bare repository
// OWNER/NAME.git (or OWNER/NAME) under Root.
type Server struct {
	URL   string // API base URL (use as go-github's base URL)
	Root  string
	Token string // the only token accepted

	mu    sync.Mutex
	pulls []*PullRequest
	calls []string // "METHOD /path" of every request
}

// New starts a double over the bare repositories under root, accepting token.
func New(t testing.TB, root, token string) *Server {
	t.Helper()
	s := &Server{Root: root, Token: token}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{owner}/{repo}", s.getRepo)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	mux.HandleFunc("POST /repos/{owner}/{repo}/pulls", s.createPull)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.getPull)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/pulls/{number}", s.editPull)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		auth := r.Header.Get("Authorization")
		if auth != "Bearer "+s.Token && auth != "token "+s.Token {
			writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest", nil)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/"
	return s
}

// Pulls returns a copy of the pull requests of OWNER/NAME.
func (s *Server) Pulls(owner, repo string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullRequest
	for _, p := range s.pulls {
		if p.Owner == owner && p.Repo == repo {
			out = append(out, *p)
		}
	}
	return out
}

// Calls returns "METHOD /path" of every request served so far.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.calls...)
}

// AddPull records a pull request as if someone had opened it (for races).
func (s *Server) AddPull(p PullRequest) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Number = len(s.pulls) + 1
	if p.State == "" {
		p.State = "open"
	}
	s.pulls = append(s.pulls, &p)
	return p.Number
}

func (s *Server) bare(owner, repo string) (string, bool) {
	for _, name := range []string{repo + ".git", repo} {
		dir := filepath.Join(s.Root, owner, name)
		if st, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil && !st.IsDir() {
			return dir, true
		}
	}
	return "", false
}

func revParse(dir, ref string) (string, bool) {
	out, err := exec.Command("git", "--git-dir", dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}").Output()
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

func defaultBranch(dir string) string {
	out, err := exec.Command("git", "--git-dir", dir, "symbolic-ref", "--short", "HEAD").Output()
	if err != nil {
		return "main"
	}
	return strings.TrimSpace(string(out))
}

type apiError struct {
	Resource string `json:"resource"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func writeError(w http.ResponseWriter, status int, message, doc string, errs []apiError) {
	body := map[string]any{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)}
	if errs != nil {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest", nil)
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	dir, ok := s.bare(owner, repo)
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": repo, "full_name": owner + "/" + repo, "default_branch": defaultBranch(dir),
		"owner": map[string]any{"login": owner}, "html_url": "https://github.test/" + owner + "/" + repo,
	})
}

func (s *Server) pullJSON(p *PullRequest) map[string]any {
	dir, _ := s.bare(p.Owner, p.Repo)
	headSHA, _ := revParse(dir, "refs/heads/"+p.Head)
	baseSHA, _ := revParse(dir, "refs/heads/"+p.Base)
	return map[string]any{
		"id": 1000 + p.Number, "number": p.Number, "state": p.State, "title": p.Title, "body": p.Body,
		"url":        fmt.Sprintf("%srepos/%s/%s/pulls/%d", s.URL, p.Owner, p.Repo, p.Number),
		"html_url":   fmt.Sprintf("https://github.test/%s/%s/pull/%d", p.Owner, p.Repo, p.Number),
		"head":       map[string]any{"ref": p.Head, "sha": headSHA, "label": p.Owner + ":" + p.Head},
		"base":       map[string]any{"ref": p.Base, "sha": baseSHA, "label": p.Owner + ":" + p.Base},
		"user":       map[string]any{"login": "chartship-bot"},
		"created_at": time.Now().UTC().Format(time.RFC3339),
	}
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	if _, ok := s.bare(owner, repo); !ok {
		notFound(w)
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, p := range s.pulls {
		if p.Owner != owner || p.Repo != repo || (state != "all" && p.State != state) {
			continue
		}
		if h := q.Get("head"); h != "" && h != p.Owner+":"+p.Head {
			continue
		}
		if b := q.Get("base"); b != "" && b != p.Base {
			continue
		}
		out = append(out, s.pullJSON(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	dir, ok := s.bare(owner, repo)
	if !ok {
		notFound(w)
		return
	}
	var in struct {
		Title, Head, Base, Body string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", nil)
		return
	}
	const doc = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
	head := in.Head
	if i := strings.IndexByte(head, ':'); i >= 0 {
		head = head[i+1:]
	}
	var errs []apiError
	for field, v := range map[string]string{"title": in.Title, "head": head, "base": in.Base} {
		if v == "" {
			errs = append(errs, apiError{Resource: "PullRequest", Field: field, Code: "missing_field"})
		}
	}
	if errs != nil {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", doc, errs)
		return
	}
	headSHA, okHead := revParse(dir, "refs/heads/"+head)
	baseSHA, okBase := revParse(dir, "refs/heads/"+in.Base)
	if !okHead {
		errs = append(errs, apiError{Resource: "PullRequest", Field: "head", Code: "invalid"})
	}
	if !okBase {
		errs = append(errs, apiError{Resource: "PullRequest", Field: "base", Code: "invalid"})
	}
	if errs != nil {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", doc, errs)
		return
	}
	if headSHA == baseSHA {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", doc, []apiError{{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", in.Base, head)}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pulls {
		if p.Owner == owner && p.Repo == repo && p.State == "open" && p.Head == head && p.Base == in.Base {
			writeError(w, http.StatusUnprocessableEntity, "Validation Failed", doc, []apiError{{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", owner, head)}})
			return
		}
	}
	p := &PullRequest{Number: len(s.pulls) + 1, Owner: owner, Repo: repo, Title: in.Title, Body: in.Body, Head: head, Base: in.Base, State: "open"}
	s.pulls = append(s.pulls, p)
	writeJSON(w, http.StatusCreated, s.pullJSON(p))
}

func (s *Server) find(w http.ResponseWriter, r *http.Request) *PullRequest {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	n, err := strconv.Atoi(r.PathValue("number"))
	if _, ok := s.bare(owner, repo); !ok || err != nil {
		notFound(w)
		return nil
	}
	for _, p := range s.pulls {
		if p.Owner == owner && p.Repo == repo && p.Number == n {
			return p
		}
	}
	notFound(w)
	return nil
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.find(w, r); p != nil {
		writeJSON(w, http.StatusOK, s.pullJSON(p))
	}
}

func (s *Server) editPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title, Body, State, Base *string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest/pulls/pulls#update-a-pull-request", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.find(w, r)
	if p == nil {
		return
	}
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.Body != nil {
		p.Body = *in.Body
	}
	if in.State != nil {
		p.State = *in.State
	}
	if in.Base != nil {
		p.Base = *in.Base
	}
	writeJSON(w, http.StatusOK, s.pullJSON(p))
}
