package chart

import (
	"errors"
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
		all, err := chartutil.CoalesceValues(c, s.vals)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("%s: merging with the chart's values: %w", shown, err))
		}
		if err := validateValues(c, all, shown, chartDir, ""); err != nil {
			return nil, err
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

// validateValues checks values against the values.schema.json of c and, like
// Helm, each subchart's values against its schema. A schema that does not
// compile is bad input; values that fail it are a failed check.
func validateValues(c *helmchart.Chart, values map[string]any, shown, chartDir, rel string) error {
	if c.Schema != nil {
		schemaRel := filepath.Join(rel, "values.schema.json")
		schemaFile := filepath.Join(chartDir, schemaRel)
		err := chartutil.ValidateAgainstSingleSchema(values, c.Schema)
		var verr chartutil.JSONSchemaValidationError
		switch {
		case errors.As(err, &verr):
			return errdef.Check(fmt.Errorf("%s does not match %s: %s: fix the values (or the schema)", shown, schemaRel, oneLine(verr.Error())))
		case err != nil:
			return errdef.Usage(fmt.Errorf("%s is not a usable JSON schema: %s: fix the schema", schemaFile, oneLine(err.Error())))
		}
	}
	for _, sub := range c.Dependencies() {
		raw, ok := values[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		subValues, ok := raw.(map[string]any)
		if !ok {
			return errdef.Check(fmt.Errorf("%s: values for subchart %s must be a map, not %T", shown, sub.Name(), raw))
		}
		if err := validateValues(sub, subValues, shown, chartDir, filepath.Join(rel, "charts", sub.Name())); err != nil {
			return err
		}
	}
	return nil
}
