package interop_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/gitrepo"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/peertools"
	"github.com/chartship/chartship/internal/registrytest"
)

// TestHelm4ReadsChartshipOCIPush: what chartship pushes to an OCI registry is what
// helm 4 pulls (the same bytes), shows, renders and verifies (.prov, PGP).
func TestHelm4ReadsChartshipOCIPush(t *testing.T) {
	helm := peertools.Helm4(t)
	ring := writeKeyring(t)
	pkg := buildHello(t, "1.2.3", ring)
	reg := registrytest.New(t)
	cat, err := oci.Open(reg.Ref("charts"), oci.Options{PlainHTTP: true})
	require.NoError(t, err)
	_, err = cat.Publish(context.Background(), pkg)
	require.NoError(t, err)
	ref := reg.Ref("charts") + "/hello"

	dest := t.TempDir()
	out := mustTool(t, nil, helm, "pull", ref, "--version", "1.2.3", "--plain-http", "--destination", dest, "--verify", "--keyring", ring)
	assert.Contains(t, out, "Digest: sha256:")
	want, err := pkg.Bytes()
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dest, "hello-1.2.3.tgz"))
	require.NoError(t, err)
	assert.Equal(t, want, got, "helm pulls the bytes chartship pushed")
	out = mustTool(t, nil, helm, "verify", filepath.Join(dest, "hello-1.2.3.tgz"), "--keyring", ring)
	assert.Contains(t, out, "Signed by: chartship test")

	out = mustTool(t, nil, helm, "show", "chart", ref, "--version", "1.2.3", "--plain-http")
	assert.Contains(t, out, "name: hello")
	assert.Contains(t, out, "version: 1.2.3")

	out = mustTool(t, nil, helm, "template", "rel", ref, "--version", "1.2.3", "--plain-http")
	assert.Contains(t, out, "kind: Deployment")
	assert.Contains(t, out, "helm.sh/chart: hello-1.2.3")
}

// TestHelm4ReadsChartshipGitCatalog: a git catalog chartship published, served over
// HTTP as GitHub Pages serves it, is a Helm repository helm 4 adds, searches, pulls
// and verifies.
func TestHelm4ReadsChartshipGitCatalog(t *testing.T) {
	helm := peertools.Helm4(t)
	ring := writeKeyring(t)
	bare := filepath.Join(t.TempDir(), "catalog.git")
	gittest.InitBare(t, bare)
	gittest.Seed(t, bare, map[string]string{"README.md": "catalog\n"}, "init")
	site := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(site)))
	t.Cleanup(srv.Close)

	cat, err := gitrepo.Open("git+file://"+bare, gitrepo.Options{IndexURL: srv.URL + "/"})
	require.NoError(t, err)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		_, err = cat.Publish(context.Background(), buildHello(t, v, ring))
		require.NoError(t, err)
	}
	// "GitHub Pages": the branch's tree, as files.
	clone := exec.Command("git", "clone", "-q", bare, site)
	require.NoError(t, os.Remove(site))
	b, err := clone.CombinedOutput()
	require.NoError(t, err, string(b))

	env := []string{"HELM_REPOSITORY_CONFIG=" + filepath.Join(t.TempDir(), "repositories.yaml"), "HELM_REPOSITORY_CACHE=" + t.TempDir()}
	mustTool(t, env, helm, "repo", "add", "cat", srv.URL)
	s := mustTool(t, env, helm, "search", "repo", "cat/hello", "--versions")
	assert.Contains(t, s, "cat/hello\t1.1.0")
	assert.Contains(t, s, "cat/hello\t1.0.0")
	dest := t.TempDir()
	mustTool(t, env, helm, "pull", "cat/hello", "--version", "1.0.0", "--destination", dest, "--verify", "--keyring", ring)
	s = mustTool(t, env, helm, "verify", filepath.Join(dest, "hello-1.0.0.tgz"), "--keyring", ring)
	assert.Contains(t, s, "Signed by: chartship test")
	s = mustTool(t, env, helm, "show", "chart", "cat/hello", "--version", "1.1.0")
	assert.Contains(t, s, "version: 1.1.0")
	s = mustTool(t, env, helm, "template", "rel", "cat/hello", "--version", "1.1.0")
	assert.True(t, strings.Contains(s, "helm.sh/chart: hello-1.1.0"), s)
}
