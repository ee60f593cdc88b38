package githubtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/githubtest"
	"github.com/chartship/chartship/internal/gittest"
)

func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// The double answers with GitHub's statuses and bodies, and reads branches from
// the real bare repository.
func TestStatusesAndBodies(t *testing.T) {
	git := gittest.NewServer(t)
	git.NewRepo(t, "acme/fleet.git")
	gittest.Seed(t, git.Dir("acme/fleet.git"), map[string]string{"a.yaml": "a: 1\n"}, "init")
	work := t.TempDir()
	gittest.Git(t, "", "clone", "--quiet", git.Dir("acme/fleet.git"), work)
	gittest.Git(t, work, "commit", "--quiet", "--allow-empty", "-m", "change")
	gittest.Git(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/topic")
	gh := githubtest.New(t, git.Root, "tok")
	pulls := gh.URL + "repos/acme/fleet/pulls"

	code, body := call(t, "POST", pulls, "bad", `{}`)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "Bad credentials", body["message"])

	code, body = call(t, "GET", gh.URL+"repos/acme/nope/pulls", "tok", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "Not Found", body["message"])

	code, body = call(t, "POST", pulls, "tok", `{"title":"t","head":"topic","base":"main"}`)
	require.Equal(t, http.StatusCreated, code)
	assert.EqualValues(t, 1, body["number"])
	assert.Equal(t, "open", body["state"])
	head := body["head"].(map[string]any)
	assert.Equal(t, strings.TrimSpace(gittest.Git(t, work, "rev-parse", "HEAD")), head["sha"])

	code, body = call(t, "POST", pulls, "tok", `{"title":"t","head":"topic","base":"main"}`)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, "Validation Failed", body["message"])
	errs := body["errors"].([]any)
	assert.Equal(t, map[string]any{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:topic."}, errs[0])

	code, body = call(t, "POST", pulls, "tok", `{"title":"t","head":"missing","base":"main"}`)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"}, body["errors"].([]any)[0])

	code, body = call(t, "PATCH", pulls+"/1", "tok", `{"title":"new"}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "new", body["title"])
	code, _ = call(t, "PATCH", pulls+"/7", "tok", `{"title":"new"}`)
	assert.Equal(t, http.StatusNotFound, code)
}
