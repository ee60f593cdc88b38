package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/gittest"
)

// chartship runs the CLI with args and returns exit code, stdout and stderr.
func chartship(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"chartship", "--log-format", "plain"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// helloCopy copies testdata/charts/hello into a new directory named repo (under
// a temp dir) and returns the chart directory.
func helloCopy(t *testing.T, repo string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), repo)
	src, err := filepath.Abs(filepath.Join("..", "..", "testdata", "charts", "hello"))
	require.NoError(t, err)
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	}))
	return dst
}

// clearCIEnv keeps the CI's own branch and repository out of the tests.
func clearCIEnv(t *testing.T) {
	for _, k := range []string{"CIRCLE_BRANCH", "CIRCLE_PROJECT_REPONAME", "GITHUB_REPOSITORY", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "SOURCE_DATE_EPOCH",
		"CHARTSHIP_VERSION", "CHARTSHIP_DESTINATION", "CHARTSHIP_OUTPUT", "CHARTSHIP_STRICT", "CHARTSHIP_REPO_NAME", "CHARTSHIP_BRANCH"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func TestPackageJSONFromGitTags(t *testing.T) {
	clearCIEnv(t)
	dir := helloCopy(t, "hello")
	gittest.Git(t, dir, "init", "--quiet", "--initial-branch=main")
	gittest.Git(t, dir, "add", "-A")
	gittest.Git(t, dir, "commit", "--quiet", "-m", "hello")
	gittest.Git(t, dir, "tag", "v1.4.0")
	dest := t.TempDir()

	code, stdout, stderr := chartship(t, "package", dir, "-d", dest, "--output", "json")
	require.Equal(t, 0, code, stderr)
	var out map[string]string
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	path := filepath.Join(dest, "hello-1.4.0.tgz")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	assert.Equal(t, map[string]string{
		"name": "hello", "version": "1.4.0", "appVersion": "1.27.3",
		"path": path, "digest": "sha256:" + hex.EncodeToString(sum[:]),
	}, out)

	// One commit later: a dev version between 1.4.0 and 1.4.1; global flags
	// after the command work too.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "NOTES.md"), []byte("more\n"), 0o644))
	gittest.Git(t, dir, "add", "-A")
	gittest.Git(t, dir, "commit", "--quiet", "-m", "more")
	code, stdout, stderr = chartship(t, "package", "-o", "json", "--destination", dest, dir)
	require.Equal(t, 0, code, stderr)
	out = nil
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	assert.Regexp(t, `^1\.4\.1-rbf28cd64t\d{14}h[0-9a-f]{7}$`, out["version"]) // crc32("main")
	v := semver.MustParse(out["version"])
	assert.True(t, v.GreaterThan(semver.MustParse("1.4.0")) && v.LessThan(semver.MustParse("1.4.1")))
	assert.FileExists(t, out["path"])
}

func TestPackageTextAndFlags(t *testing.T) {
	clearCIEnv(t)
	dir := helloCopy(t, "hello")
	dest := t.TempDir()
	code, stdout, stderr := chartship(t, "package", dir, "-d", dest, "--version", "2.0.0", "--app-version", "chart",
		"--catalog-base-url", "https://example.github.io/catalog/")
	require.Equal(t, 0, code, stderr)
	path := filepath.Join(dest, "hello-2.0.0.tgz")
	assert.Contains(t, stdout, "Packaged hello 2.0.0 (version from --version)")
	assert.Contains(t, stdout, "path:   "+path)
	assert.Contains(t, stdout, "digest: sha256:")
	p, err := chart.Open(path)
	require.NoError(t, err)
	assert.Equal(t, "2.0.0", p.Metadata.AppVersion)
	assert.Equal(t, "https://example.github.io/catalog/hello-2.0.0.tgz-meta/main.yaml", p.Metadata.Annotations[chart.AnnotationMetadata])

	// Every flag reads CHARTSHIP_<FLAG>; SOURCE_DATE_EPOCH is honoured.
	dest2 := t.TempDir()
	t.Setenv("CHARTSHIP_VERSION", "2.0.0")
	t.Setenv("CHARTSHIP_DESTINATION", dest2)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	code, stdout, stderr = chartship(t, "package", dir, "--app-version", "chart", "--catalog-base-url", "https://example.github.io/catalog/", "-o", "json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, filepath.Join(dest2, "hello-2.0.0.tgz"))
	p2, err := chart.Open(filepath.Join(dest2, "hello-2.0.0.tgz"))
	require.NoError(t, err)
	assert.NotEqual(t, p.Digest, p2.Digest, "other mtimes")

	// The root --version still prints the build version.
	code, stdout, _ = chartship(t, "--version")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "chartship version")
}

func TestPackageFindsChartUnderHelmDir(t *testing.T) {
	clearCIEnv(t)
	repo := filepath.Join(t.TempDir(), "hello-app")
	chartDir := helloCopy(t, "hello")
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "helm"), 0o755))
	require.NoError(t, os.Rename(chartDir, filepath.Join(repo, "helm", "hello")))
	dest := t.TempDir()
	code, stdout, stderr := chartship(t, "package", repo, "--version", "0.1.0", "-d", dest)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, filepath.Join(dest, "hello-0.1.0.tgz"))
}

// TestPackageExitCodes: bad input exits 1, failed checks exit 2, each with one
// error line naming the file, and no archive.
func TestPackageExitCodes(t *testing.T) {
	clearCIEnv(t)
	cases := []struct {
		name  string
		repo  string
		edit  func(t *testing.T, dir string)
		args  []string
		code  int
		inErr string
	}{
		{name: "bad semver", repo: "hello", args: []string{"--version", "1.4"}, code: 1, inErr: `"1.4"`},
		{name: "build metadata", repo: "hello", args: []string{"--version", "1.4.0+abc"}, code: 1, inErr: "--allow-build-metadata"},
		{name: "no git, no --version", repo: "hello", code: 1, inErr: "pass --version"},
		{name: "name mismatch", repo: "world", args: []string{"--version", "1.0.0"}, code: 1, inErr: "--allow-name-mismatch"},
		{name: "missing Chart.yaml", repo: "hello", args: []string{"--version", "1.0.0"}, code: 1, inErr: "Chart.yaml",
			edit: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "Chart.yaml"))) }},
		{name: "malformed Chart.yaml", repo: "hello", args: []string{"--version", "1.0.0"}, code: 1, inErr: "Chart.yaml is not a valid Chart.yaml",
			edit: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("name: [hello\n"), 0o644))
			}},
		{name: "symlink out of the chart", repo: "hello", args: []string{"--version", "1.0.0"}, code: 1, inErr: "outside the chart directory",
			edit: func(t *testing.T, dir string) {
				outside := filepath.Join(t.TempDir(), "secret.txt")
				require.NoError(t, os.WriteFile(outside, []byte("s3cret\n"), 0o600))
				require.NoError(t, os.Symlink(outside, filepath.Join(dir, "templates", "host.txt")))
			}},
		{name: "file too big", repo: "hello", args: []string{"--version", "1.0.0"}, code: 1, inErr: "big.bin",
			edit: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, chart.DefaultMaxFileSize+1), 0o644))
			}},
		{name: "schema", repo: "hello", args: []string{"--version", "1.0.0"}, code: 2, inErr: "ci/bad-values.yaml does not match values.schema.json",
			edit: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "ci", "bad-values.yaml"), []byte("service:\n  port: 0\n"), 0o644))
			}},
		{name: "lint warning, strict", repo: "hello", args: []string{"--version", "1.0.0", "--strict"}, code: 2, inErr: "--strict",
			edit: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "templates", "ing.yaml"), []byte("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: x\nspec:\n  backend:\n    serviceName: x\n    servicePort: 80\n"), 0o644))
			}},
		{name: "sign without key", repo: "hello", args: []string{"--version", "1.0.0", "--sign"}, code: 1, inErr: "--sign needs --key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := helloCopy(t, tc.repo)
			if tc.edit != nil {
				tc.edit(t, dir)
			}
			dest := filepath.Join(t.TempDir(), "build")
			args := append([]string{"package", dir, "-d", dest}, tc.args...)
			code, stdout, stderr := chartship(t, args...)
			assert.Equal(t, tc.code, code, stderr)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			errLine := lines[len(lines)-1]
			assert.True(t, strings.HasPrefix(errLine, "Error: "), stderr)
			assert.Contains(t, errLine, tc.inErr)
			assert.Empty(t, stdout)
			entries, _ := os.ReadDir(dest)
			assert.Empty(t, entries, "no archive written")

			// JSON mode reports the same error and code on stdout.
			code, stdout, _ = chartship(t, append(args, "-o", "json")...)
			assert.Equal(t, tc.code, code)
			var out struct {
				Error    string `json:"error"`
				ExitCode int    `json:"exitCode"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
			assert.Equal(t, tc.code, out.ExitCode)
			assert.Contains(t, out.Error, tc.inErr)
		})
	}
}

// TestPackageCIEnvironment: on CI the checkout directory and a detached HEAD
// say nothing; the CI's variables give the repository and branch.
func TestPackageCIEnvironment(t *testing.T) {
	clearCIEnv(t)
	dir := helloCopy(t, "project") // CircleCI checks out into ~/project
	gittest.Git(t, dir, "init", "--quiet", "--initial-branch=main")
	gittest.Git(t, dir, "add", "-A")
	gittest.Git(t, dir, "commit", "--quiet", "-m", "one")
	gittest.Git(t, dir, "tag", "v0.5.0")
	gittest.Git(t, dir, "commit", "--quiet", "--allow-empty", "-m", "two")
	gittest.Git(t, dir, "checkout", "--quiet", "--detach")

	code, _, stderr := chartship(t, "package", dir, "-d", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `repository name "project"`)

	t.Setenv("GITHUB_REPOSITORY", "giantswarm/hello")
	t.Setenv("CIRCLE_BRANCH", "feature/faster_start")
	code, stdout, stderr := chartship(t, "package", dir, "-d", t.TempDir(), "-o", "json")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `"version": "0\.5\.1-rd83f5747t\d{14}h[0-9a-f]{7}"`, stdout) // crc32("feature/faster_start")
	code, stdout, stderr = chartship(t, "package", dir, "-d", t.TempDir(), "-o", "json", "--dev-schema", "legacy")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `"version": "0\.5\.1-dev\.feature-faster-start\.\d{14}\.h[0-9a-f]{7}"`, stdout)
}

func TestPackageSign(t *testing.T) {
	clearCIEnv(t)
	dir := helloCopy(t, "hello")
	e, err := openpgp.NewEntity("Release Bot", "", "bot@chartship.example", nil)
	require.NoError(t, err)
	ring := filepath.Join(t.TempDir(), "secring.gpg")
	f, err := os.Create(ring)
	require.NoError(t, err)
	require.NoError(t, e.SerializePrivate(f, nil))
	require.NoError(t, f.Close())

	dest := t.TempDir()
	code, stdout, stderr := chartship(t, "package", dir, "--version", "1.0.0", "-d", dest, "--sign", "--key", "Release Bot", "--keyring", ring, "-o", "json")
	require.Equal(t, 0, code, stderr)
	var out map[string]string
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	assert.Equal(t, filepath.Join(dest, "hello-1.0.0.tgz.prov"), out["provenance"])
	prov, err := os.ReadFile(out["provenance"])
	require.NoError(t, err)
	assert.Contains(t, string(prov), "-----BEGIN PGP SIGNED MESSAGE-----")
	assert.Contains(t, string(prov), out["digest"])
}
