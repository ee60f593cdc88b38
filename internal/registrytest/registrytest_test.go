package registrytest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/registrytest"
)

func get(t *testing.T, c *http.Client, u string, setup func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if setup != nil {
		setup(req)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestPlain(t *testing.T) {
	reg := registrytest.New(t)
	assert.True(t, reg.PlainHTTP)
	assert.Empty(t, reg.CAFile)
	resp := get(t, reg.Client(), reg.URL+"/v2/", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, reg.Requests(), 1)
	assert.Equal(t, registrytest.Request{Method: "GET", Path: "/v2/", Status: 200}, reg.Requests()[0])
	assert.Equal(t, "oci://"+reg.Host+"/ns", reg.Ref("ns"))
}

func TestHtpasswd(t *testing.T) {
	reg := registrytest.New(t, registrytest.WithHtpasswd("u", "p"))
	assert.False(t, reg.PlainHTTP)
	assert.FileExists(t, reg.CAFile)
	assert.Equal(t, http.StatusUnauthorized, get(t, reg.Client(), reg.URL+"/v2/", nil).StatusCode)
	ok := get(t, reg.Client(), reg.URL+"/v2/", func(r *http.Request) { r.SetBasicAuth("u", "p") })
	assert.Equal(t, http.StatusOK, ok.StatusCode)
}

func TestACRTokenFlow(t *testing.T) {
	reg := registrytest.New(t, registrytest.WithACR(registrytest.ACRConfig{AdminUsername: "admin", AdminPassword: "pw"}))
	c := reg.Client()
	resp := get(t, c, reg.URL+"/v2/", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `Bearer realm="https://`+reg.Host+`/oauth2/token"`)

	// AAD token → refresh token → access token → registry
	form := url.Values{"grant_type": {"access_token"}, "service": {reg.Host}, "access_token": {reg.ACR.IssueAADToken()}}
	resp, err := c.PostForm(reg.URL+"/oauth2/exchange", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var ex struct {
		RefreshToken string `json:"refresh_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ex))

	form = url.Values{"grant_type": {"refresh_token"}, "service": {reg.Host}, "scope": {"repository:a/b:pull"}, "refresh_token": {ex.RefreshToken}}
	resp, err = c.PostForm(reg.URL+"/oauth2/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	ok := get(t, c, reg.URL+"/v2/a/b/tags/list", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) })
	assert.Equal(t, http.StatusNotFound, ok.StatusCode, "authorized: the repository just doesn't exist")
	denied := get(t, c, reg.URL+"/v2/other/tags/list", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) })
	assert.Equal(t, http.StatusUnauthorized, denied.StatusCode, "the token is scoped to a/b")

	// a forged AAD token is refused
	resp, err = c.PostForm(reg.URL+"/oauth2/exchange", url.Values{"grant_type": {"access_token"}, "service": {reg.Host}, "access_token": {"forged"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.NotEmpty(t, reg.ACR.IssuedTokens())
}

func TestFaults(t *testing.T) {
	reg := registrytest.New(t)
	reg.InjectFaults(registrytest.FailMatching("GET", "/v2/", 1, registrytest.Fault{Status: 429, RetryAfter: "2"}))
	resp := get(t, reg.Client(), reg.URL+"/v2/", nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, get(t, reg.Client(), reg.URL+"/v2/", nil).StatusCode, "only once")

	reg.InjectFaults(registrytest.FailMatching("", "/v2/", 1, registrytest.Fault{Drop: true}))
	_, err := reg.Client().Get(reg.URL + "/v2/")
	require.Error(t, err)
	reqs := reg.Requests()
	assert.True(t, reqs[len(reqs)-1].Fault)
	assert.Equal(t, 0, reqs[len(reqs)-1].Status)
	reg.ResetRequests()
	assert.Empty(t, reg.Requests())
	assert.False(t, strings.Contains(reg.URL, "https"))
}
