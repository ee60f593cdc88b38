package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/chartship/chartship/internal/registrytest"
)

// TestFlagMistakes: an unknown flag or command is one line on stderr with a
// did-you-mean and where the help is, exit 1, and nothing on stdout (JSON under -o json).
func TestFlagMistakes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"publsh"}, `chartship: unknown command "publsh"; did you mean publish? (see ` + "`chartship --help`)"},
		{[]string{"bump", "--chart", "x", "--versoin", "1.0.0"}, "chartship bump: unknown flag --versoin; did you mean --version? (see `chartship bump --help`)"},
		{[]string{"--outptu", "json", "package"}, "chartship: unknown flag --outptu; did you mean --output?"},
		{[]string{"catalog", "prnue"}, `chartship catalog: unknown command "prnue"; did you mean prune?`},
		{[]string{"publish", "x.tgz", "--branch", "gh-pages"}, "chartship publish: --branch is called --catalog-branch now (and reads $CHARTSHIP_CATALOG_BRANCH)"},
		{[]string{"bump", "--chart", "x", "--version", "1.0.0", "--catalog", "giantswarm"}, "--catalog is called --app-catalog now"},
		{[]string{"bump", "--chart", "x"}, `chartship bump: Required flag "version" not set (see ` + "`chartship bump --help`)"},
		{[]string{"publish", "--zzz"}, "chartship publish: unknown flag --zzz (see `chartship publish --help`)"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"chartship"}, tc.args...), &stdout, &stderr)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Empty(t, stdout.String(), tc.args)
		assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
		assert.Contains(t, stderr.String(), tc.want, tc.args)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "-o", "json", "publish", "--brnch", "x"}, &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	var doc struct {
		Error    string `json:"error"`
		ExitCode int    `json:"exitCode"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &doc), "stdout is JSON: %q", stdout.String())
	assert.Equal(t, 1, doc.ExitCode)
	assert.Contains(t, doc.Error, "unknown flag --brnch")
}

// TestRenamedFlagsPointAtFlags: each old name in renamedFlags is no flag of
// its command any more (or the pointer would never show) and its new name is.
func TestRenamedFlagsPointAtFlags(t *testing.T) {
	has := map[string]map[string]bool{} // command name → its flag names
	for _, f := range allFlags(t) {
		cmd := f.command[strings.LastIndex(f.command, " ")+1:]
		if has[cmd] == nil {
			has[cmd] = map[string]bool{}
		}
		for _, n := range append([]string{f.name}, f.aliases...) {
			has[cmd][n] = true
		}
	}
	for cmd, renames := range renamedFlags {
		require.NotNil(t, has[cmd], "renamedFlags names a command %q with flags", cmd)
		for old, to := range renames {
			assert.False(t, has[cmd][old], "%s --%s is still a flag", cmd, old)
			assert.True(t, has[cmd][to], "%s --%s (the new name of --%s) is a flag", cmd, to, old)
		}
	}
}

// TestHintsNameFlagsThatExist: every --flag an error or log message of chartship
// names is a flag some command has.
func TestHintsNameFlagsThatExist(t *testing.T) {
	names := map[string]bool{"help": true, "version": true}
	for _, f := range allFlags(t) {
		for _, n := range append([]string{f.name}, f.aliases...) {
			names[n] = true
		}
	}
	// Flags of other programs that messages quote as commands to run.
	others := map[string]bool{"unshallow": true, "tags": true, "name": true}
	msg := regexp.MustCompile(`(Errorf|errors\.New|hint :?=|\.Warn|\.Info|\.Error)\(?.*`)
	flag := regexp.MustCompile(`--[a-z][a-z0-9-]+`)
	checked := 0
	err := filepath.WalkDir(filepath.Join("..", ".."), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range msg.FindAllString(line, -1) {
				for _, f := range flag.FindAllString(m, -1) {
					checked++
					name := strings.TrimPrefix(f, "--")
					if !names[name] && !others[name] {
						t.Errorf("%s:%d names %s, which no command has", path, i+1, f)
					}
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, checked, 50)
}

// TestPlainHTTPHint: publishing to a plain-HTTP registry without --plain-http says
// to pass it.
func TestPlainHTTPHint(t *testing.T) {
	reg := registrytest.New(t)
	path, err := chartutil.Save(&helmchart.Chart{Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "plain", Version: "0.1.0"}}, t.TempDir())
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "publish", path, "--to", reg.Ref("charts"), "--retries", "0"}, &stdout, &stderr)
	assert.Equal(t, exitExternal, code)
	assert.Contains(t, stderr.String(), "speaks plain HTTP, not HTTPS: pass --plain-http")
}
