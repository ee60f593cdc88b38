// Package orb holds the tests of the chartship CircleCI orb (orb.yml): validated with
// CircleCI's own config parser, every run step's script through bash -n and shellcheck,
// and the command scripts run — the same bytes the orb runs — against the local test stack
// with CircleCI's environment variables set.
package orb_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/internal/gittest"
)

// orb is orb.yml as far as the tests need it.
type orb struct {
	Commands map[string]component `json:"commands"`
	Jobs     map[string]component `json:"jobs"`
}

type component struct {
	Parameters map[string]struct {
		Type    string `json:"type"`
		Default any    `json:"default"`
	} `json:"parameters"`
	Steps []any `json:"steps"` // a step is a name ("checkout") or a map of one
}

// runStep is one `run:` step of a command.
type runStep struct {
	Command string            // the orb command it belongs to
	Name    string            // its name
	Script  string            // the bytes CircleCI runs
	Env     map[string]string // its environment, parameters not yet substituted
}

func loadOrb(t testing.TB) orb {
	t.Helper()
	raw, err := os.ReadFile("orb.yml")
	require.NoError(t, err)
	var o orb
	require.NoError(t, yaml.Unmarshal(raw, &o))
	return o
}

// runSteps lists every run step of every command, in a stable order.
func runSteps(t testing.TB, o orb) []runStep {
	t.Helper()
	var names []string
	for n := range o.Commands {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []runStep
	for _, n := range names {
		for _, st := range o.Commands[n].Steps {
			m, _ := st.(map[string]any)
			r, ok := m["run"].(map[string]any)
			if !ok {
				continue
			}
			rs := runStep{Command: n, Env: map[string]string{}}
			rs.Name, _ = r["name"].(string)
			rs.Script, _ = r["command"].(string)
			if env, ok := r["environment"].(map[string]any); ok {
				for k, v := range env {
					rs.Env[k] = fmt.Sprint(v)
				}
			}
			out = append(out, rs)
		}
	}
	return out
}

// script returns the one run step of an orb command.
func script(t testing.TB, command string) runStep {
	t.Helper()
	var found []runStep
	for _, r := range runSteps(t, loadOrb(t)) {
		if r.Command == command {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "orb command %s has one run step", command)
	return found[0]
}

var paramRef = regexp.MustCompile(`<<\s*parameters\.([a-z0-9-]+)\s*>>`)

// environ substitutes the command's parameters (args, else the defaults) into the step's
// environment, as CircleCI does.
func (r runStep) environ(t testing.TB, args map[string]string) []string {
	t.Helper()
	params := loadOrb(t).Commands[r.Command].Parameters
	for k := range args {
		require.Contains(t, params, k, "orb command %s has no parameter %s", r.Command, k)
	}
	var env []string
	for k, v := range r.Env {
		v = paramRef.ReplaceAllStringFunc(v, func(m string) string {
			name := paramRef.FindStringSubmatch(m)[1]
			if a, ok := args[name]; ok {
				return a
			}
			p, ok := params[name]
			require.True(t, ok, "%s: %s names parameter %s, which the command lacks", r.Command, k, name)
			require.NotNil(t, p.Default, "%s: parameter %s has no default: the test must give it", r.Command, name)
			return fmt.Sprint(p.Default)
		})
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// Every parameter reaches the script through the environment, and only as ORB_PARAM_*:
// chartship reads CHARTSHIP_* variables as flags.
func TestOrbScriptsTakeParametersFromTheEnvironment(t *testing.T) {
	o := loadOrb(t)
	steps := runSteps(t, o)
	require.Len(t, steps, 7, "one run step per command")
	used := regexp.MustCompile(`\bORB_PARAM_[A-Z0-9_]+`)
	for _, r := range steps {
		assert.NotRegexp(t, `<<`, strings.ReplaceAll(r.Script, "<<<", ""), "%s: a parameter spliced into the script; pass it in environment:", r.Command)
		for k, v := range r.Env {
			assert.True(t, strings.HasPrefix(k, "ORB_PARAM_"), "%s: %s", r.Command, k)
			m := paramRef.FindStringSubmatch(v)
			require.NotNil(t, m, "%s: %s=%s names no parameter", r.Command, k, v)
			assert.Contains(t, o.Commands[r.Command].Parameters, m[1], "%s: %s", r.Command, k)
		}
		for _, v := range used.FindAllString(r.Script, -1) {
			assert.Contains(t, r.Env, v, "%s uses %s, which its environment does not set", r.Command, v)
		}
		for p := range o.Commands[r.Command].Parameters {
			found := false
			for _, v := range r.Env {
				found = found || strings.Contains(v, "parameters."+p+" ")
			}
			for _, st := range o.Commands[r.Command].Steps {
				if m, ok := st.(map[string]any); ok && m["run"] == nil {
					b, _ := yaml.Marshal(m)
					found = found || strings.Contains(string(b), "parameters."+p+" ")
				}
			}
			assert.True(t, found, "%s: parameter %s is used nowhere", r.Command, p)
		}
	}
}

// Every run step's script parses (bash -n) and passes shellcheck.
func TestOrbScriptsPassBashAndShellcheck(t *testing.T) {
	shellcheck := gittest.NeedTool(t, "shellcheck")
	dir := t.TempDir()
	for _, r := range runSteps(t, loadOrb(t)) {
		// CircleCI runs a step as `/bin/bash -eo pipefail` over the script.
		f := filepath.Join(dir, r.Command+".bash")
		require.NoError(t, os.WriteFile(f, []byte("#!/bin/bash\n"+r.Script), 0o644))
		out, err := exec.Command("bash", "-n", f).CombinedOutput()
		assert.NoError(t, err, "bash -n %s: %s", r.Command, out)
		out, err = exec.Command(shellcheck, "--shell=bash", "--severity=style", f).CombinedOutput()
		assert.NoError(t, err, "shellcheck of the orb's %s command:\n%s", r.Command, out)
	}
}

// orbCheckModules is where scripts/test installs CircleCI's config parser.
func orbCheckModules(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CHARTSHIP_ORB_CHECK_MODULES")
	if dir == "" {
		cache := os.Getenv("CHARTSHIP_CACHE")
		if cache == "" {
			base, err := os.UserCacheDir()
			require.NoError(t, err)
			cache = filepath.Join(base, "chartship")
		}
		dir = filepath.Join(cache, "npm", "orb-check", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, "@circleci", "circleci-config-parser")); err != nil {
		msg := "CircleCI's config parser is not in " + dir + ": scripts/test installs it (npm ci in a copy of orb/check/)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

func validate(t testing.TB, files ...string) (string, error) {
	t.Helper()
	node := gittest.NeedTool(t, "node")
	cmd := exec.Command(node, append([]string{"check/circleci-config.cjs"}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+orbCheckModules(t))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The orb, its examples and the README's example config for an app repository are valid
// for CircleCI's own config parser; a broken orb is not.
func TestOrbIsValidForCircleCIsParser(t *testing.T) {
	out, err := validate(t, "orb.yml", "examples/app-repository.yml")
	require.NoError(t, err, "%s", out)
	assert.Contains(t, out, "7 commands, 2 jobs, 1 examples and 1 configs valid")

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	example, err := os.ReadFile("examples/app-repository.yml")
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(readme), "```yaml\n"+string(example)+"```"), "README shows orb/examples/app-repository.yml as it is")

	raw, err := os.ReadFile("orb.yml")
	require.NoError(t, err)
	dir := t.TempDir()
	for name, broken := range map[string][]byte{
		"unknown executor": bytes.Replace(raw, []byte("    executor: machine\n"), []byte("    executor: nosuch\n"), 1),
		"unknown step":     bytes.Replace(raw, []byte("      - store_test_results:\n"), []byte("      - store_test_result:\n"), 1),
		"bad step field":   bytes.Replace(raw, []byte("          path: << parameters.results >>\n"), []byte("          paths: << parameters.results >>\n"), 1),
	} {
		require.NotEqual(t, raw, broken, name)
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yml")
		require.NoError(t, os.WriteFile(f, broken, 0o644))
		out, err := validate(t, f)
		assert.Error(t, err, "%s: %s", name, out)
	}
	bad := filepath.Join(dir, "bad-usage.yml")
	require.NoError(t, os.WriteFile(bad, bytes.Replace(example, []byte("parallelism:"), []byte("paralellism:"), 1), 0o644))
	out, err = validate(t, "orb.yml", bad)
	assert.Error(t, err)
	assert.Contains(t, out, "has no parameter paralellism")
}
