package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"

	"github.com/chartship/chartship/internal/errdef"
)

// LintOptions configure the checks before packaging: Helm's lint rules
// (helm.sh/helm/v3/pkg/lint) and values.schema.json against values.yaml and
// against each ci/*-values.yaml layered over it.
type LintOptions struct {
	// Strict fails on lint warnings too, like `helm lint --strict`.
	Strict bool
	// Skip skips linting and schema validation.
	Skip bool
	// Namespace templates are rendered into; default "default".
	Namespace string
	// KubeVersion templates see as .Capabilities.KubeVersion; default Helm's.
	KubeVersion string
}

func (o LintOptions) withDefaults() LintOptions {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	return o
}

// lintChart lints the stamped chart c (read from chartDir) once with its own
// values and once per ci/*-values.yaml. It returns the warnings, or a check
// error naming the values file and the first problems.
func lintChart(c *helmchart.Chart, chartDir string, o LintOptions) ([]string, error) {
	var kube *chartutil.KubeVersion
	if o.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(o.KubeVersion)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("kube version %q: %w", o.KubeVersion, err))
		}
		kube = kv
	}

	type valuesSet struct {
		file string // as shown to the user, relative to the chart
		vals map[string]any
	}
	sets := []valuesSet{{file: "values.yaml"}}
	ciFiles, _ := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	sort.Strings(ciFiles)
	for _, f := range ciFiles {
		rel := filepath.ToSlash(filepath.Join("ci", filepath.Base(f)))
		vals, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("%s: not a valid values file: %s: fix the YAML", f, oneLine(err.Error())))
		}
		sets = append(sets, valuesSet{file: rel, vals: vals})
	}

	// Helm's lint reads the chart from disk: give it the stamped chart, so it
	// checks exactly what will be packaged.
	tmp, err := os.MkdirTemp("", "chartship-lint-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := chartutil.SaveDir(c, tmp); err != nil {
		return nil, fmt.Errorf("preparing chart %s for lint: %w", chartDir, err)
	}
	lintDir := filepath.Join(tmp, c.Name())

	var warnings []string
	seen := map[string]bool{}
	for _, s := range sets {
		shown := filepath.Join(chartDir, filepath.FromSlash(s.file))
		if c.Schema != nil {
			all, err := chartutil.CoalesceValues(c, s.vals)
			if err != nil {
				return nil, errdef.Usage(fmt.Errorf("%s: merging with the chart's values: %w", shown, err))
			}
			if err := chartutil.ValidateAgainstSchema(c, all); err != nil {
				return nil, errdef.Check(fmt.Errorf("%s does not match values.schema.json: %s: fix the values (or the schema)", shown, schemaProblems(err)))
			}
		}
		linter := lint.AllWithKubeVersionAndSchemaValidation(lintDir, s.vals, o.Namespace, kube, true)
		var errs []string
		for _, m := range linter.Messages {
			text := strings.ReplaceAll(oneLine(m.Error()), lintDir, chartDir)
			switch {
			case m.Severity == support.ErrorSev:
				errs = append(errs, text)
			case m.Severity == support.WarningSev:
				if o.Strict {
					errs = append(errs, text)
				} else if !seen[text] {
					seen[text] = true
					warnings = append(warnings, text)
				}
			}
		}
		if len(errs) > 0 {
			what := "lint failed"
			if s.file != "values.yaml" {
				what += " with values from " + s.file
			}
			fix := "fix the chart"
			if o.Strict && linter.HighestSeverity == support.WarningSev {
				fix = "fix the warnings (--strict treats them as errors)"
			}
			return nil, errdef.Check(fmt.Errorf("%s: %s: %s; run `helm lint %s` for details: %s", chartDir, what, strings.Join(errs, "; "), chartDir, fix))
		}
	}
	return warnings, nil
}

// schemaProblems turns Helm's multi-line schema error into one line.
func schemaProblems(err error) string {
	s := oneLine(err.Error())
	s = strings.TrimPrefix(s, "values don't meet the specifications of the schema(s) in the following chart(s):; ")
	return strings.ReplaceAll(s, ":; - ", ": ")
}
