package gitops

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"
)

// goldenCase is testdata/gitops/<case>/case.yaml.
type goldenCase struct {
	Chart     string   `yaml:"chart"`
	Version   string   `yaml:"version"`
	Available []string `yaml:"available"`
	Registry  string   `yaml:"registry"`
	Policy    string   `yaml:"policy"`
	Digest    string   `yaml:"digest"`
	Problems  []string `yaml:"problems"` // file:line expected in Plan.Problems
}

// TestGolden plans and writes each testdata/gitops/<case>/original tree and
// compares every file byte for byte with <case>/expected.
func TestGolden(t *testing.T) {
	root := filepath.Join("..", "testdata", "gitops")
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			raw, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
			require.NoError(t, err)
			var c goldenCase
			require.NoError(t, yaml.Unmarshal(raw, &c))

			work := t.TempDir()
			copyTree(t, filepath.Join(dir, "original"), work)
			plan, err := PlanDir(context.Background(), work, Request{Chart: c.Chart, Version: c.Version, Available: c.Available, Registry: c.Registry, Policy: c.Policy, Digest: c.Digest}, Options{})
			require.NoError(t, err)
			var got []string
			for _, p := range plan.Problems {
				got = append(got, fmt.Sprintf("%s:%d", p.File, p.Line))
			}
			sort.Strings(got)
			sort.Strings(c.Problems)
			assert.Equal(t, c.Problems, got, "problems: %v", plan.Problems)
			if len(c.Problems) == 0 {
				assert.NoError(t, plan.Err())
			} else {
				assert.ErrorIs(t, plan.Err(), ErrBadInput)
			}
			checkStagesGolden(t, dir, plan)
			require.NoError(t, plan.Write(work))

			want := readTree(t, filepath.Join(dir, "expected"))
			have := readTree(t, work)
			require.Equal(t, keys(want), keys(have))
			for f, w := range want {
				assert.Equal(t, w, have[f], "file %s differs from expected (plan: %+v)", f, plan.Changes)
			}
		})
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	for f, b := range readTree(t, from) {
		p := filepath.Join(to, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(b), 0o644))
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	require.NoError(t, err)
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
