package main

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v3"
)

// cliFlag is one flag of one command, as a user meets it.
type cliFlag struct {
	command string // "chartship bump"
	name    string // primary name: its meaning
	aliases []string
	usage   string
	env     []string // the environment variables it reads
}

// allFlags lists every flag of every command of the CLI.
func allFlags(t *testing.T) []cliFlag {
	t.Helper()
	var out []cliFlag
	var walk func(c *cli.Command, path string)
	walk = func(c *cli.Command, path string) {
		for _, f := range c.Flags {
			v := reflect.ValueOf(f).Elem()
			cf := cliFlag{command: path, name: f.Names()[0], aliases: f.Names()[1:], usage: v.FieldByName("Usage").String()}
			if s := v.FieldByName("Sources"); s.IsValid() {
				for _, src := range s.Interface().(cli.ValueSourceChain).Chain {
					if e, ok := src.(cli.EnvValueSource); ok {
						cf.env = append(cf.env, e.Key())
					}
				}
			}
			out = append(out, cf)
		}
		for _, s := range c.Commands {
			walk(s, path+" "+s.Name)
		}
	}
	walk(newApp(io.Discard, io.Discard), "chartship")
	require.NotEmpty(t, out)
	return out
}

// sameMeaningWording are flag names whose help text differs between commands
// although they mean the same thing there (the wording fits the command).
var sameMeaningWording = map[string]string{
	"retries":      "retries of a failed remote call; publish covers registries and git pushes, bump registries and its git transfers, the other read-only commands registries only",
	"plain-http":   "plain HTTP to OCI registries: dependency registries when packaging, catalogs when publishing",
	"config-dir":   "where .chartship.yaml is; the default search differs by command",
	"dry-run":      "change nothing, print what would change",
	"to":           "the catalog(s) written to (published to, pruned)",
	"github-token": "the GitHub token",
	"chart":        "a chart's name: the one bump rolls out, the ones a prune looks at",
	// signing (cosign's own spelling: --key is the private key to sign, the public key to verify)
	"cosign-key":           "the cosign key: its private half signs (publish, release, upgrade-test --attest), its public half verifies (verify, bump)",
	"trusted-root":         "the sigstore trusted root keyless signatures verify against",
	"require-upgrade-test": "require a signed upgrade-test attestation of the upgrade",
	"from":                 "the from-version(s) of an upgrade test (verify: the one its attestation names)",
	"request-timeout":      "abandon and retry a remote request that makes no progress; publish and bump cover git transfers too",
	"from-catalog":         "the catalog the upgrade test's from-versions come from; release also takes names from .chartship.yaml and has a default",
	"version":              "the chart version this run is about: stamped by package/release, rolled out by bump",
}

// TestEnvironmentVariablesHaveOneMeaning: one environment variable never sets flags
// that mean different things in different commands (CHARTSHIP_BRANCH once named
// the dev-version branch, the catalog branch and the bump branch). A flag's meaning
// is its name; flags of one name must be the same flag (same help) in every
// command, unless listed above.
func TestEnvironmentVariablesHaveOneMeaning(t *testing.T) {
	flags := allFlags(t)
	byEnv := map[string]map[string][]string{}  // env → flag name → commands
	usages := map[string]map[string][]string{} // flag name → usage → commands
	for _, f := range flags {
		for _, e := range f.env {
			if byEnv[e] == nil {
				byEnv[e] = map[string][]string{}
			}
			byEnv[e][f.name] = append(byEnv[e][f.name], f.command)
		}
		if usages[f.name] == nil {
			usages[f.name] = map[string][]string{}
		}
		usages[f.name][f.usage] = append(usages[f.name][f.usage], f.command)
		assert.Contains(t, f.env, envName(f.name), "%s --%s reads %s", f.command, f.name, envName(f.name))
	}
	for env, names := range byEnv {
		if len(names) > 1 {
			t.Errorf("$%s sets flags of different meanings: %v", env, names)
		}
	}
	for name := range sameMeaningWording {
		assert.Greater(t, len(usages[name]), 1, "--%s is worded one way everywhere: drop it from sameMeaningWording", name)
	}
	for name, us := range usages {
		if len(us) > 1 && sameMeaningWording[name] == "" {
			var lines []string
			for u, cmds := range us {
				lines = append(lines, strings.Join(cmds, ", ")+": "+u)
			}
			sort.Strings(lines)
			t.Errorf("--%s means different things:\n  %s\ngive each meaning its own name (e.g. --catalog-branch, --bump-branch)", name, strings.Join(lines, "\n  "))
		}
	}
	// An alias is a second spelling, never a second meaning.
	names := map[string]bool{}
	for _, f := range flags {
		names[f.name] = true
	}
	for _, f := range flags {
		for _, a := range f.aliases {
			if len(a) > 1 {
				assert.False(t, names[a], "%s: alias --%s of --%s is another flag's name elsewhere", f.command, a, f.name)
			}
		}
	}
}

// TestEnvironmentBranchClash is the reported mistake as a user typed it:
// CHARTSHIP_BRANCH (the dev-version branch) set for a publish to a git catalog
// must not pick the catalog's branch.
func TestEnvironmentBranchClash(t *testing.T) {
	t.Setenv("CHARTSHIP_BRANCH", "feature-x")
	var got string
	cmd := &cli.Command{Name: "x", Flags: gitFlags(), Writer: io.Discard, ErrWriter: io.Discard,
		Action: func(_ context.Context, cmd *cli.Command) error {
			o, err := gitOptions(cmd)
			got = o.Branch
			return err
		}}
	addEnvSources(cmd)
	require.NoError(t, cmd.Run(context.Background(), []string{"x"}))
	assert.Empty(t, got, "CHARTSHIP_BRANCH is the dev-version branch, not the catalog's")
	t.Setenv("CHARTSHIP_CATALOG_BRANCH", "gh-pages")
	require.NoError(t, cmd.Run(context.Background(), []string{"x"}))
	assert.Equal(t, "gh-pages", got)

	// The old spelling on publish says what it is called now.
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"chartship", "publish", "x.tgz", "--branch", "gh-pages"}, &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "--catalog-branch")
}
