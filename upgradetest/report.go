package upgradetest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"helm.sh/helm/v3/pkg/release"
)

type releaseT = release.Release

// Scenario kinds.
const (
	KindUpgrade = "upgrade" // from-version installed, then upgraded
	KindInstall = "install" // no released version yet: install test only
)

// Report is the outcome of an upgrade test: what ran, step by step. Print it with Text,
// WriteJUnit, or as JSON; Result is the short document attached to the package's metadata.
type Report struct {
	Chart             string           `json:"chart"`
	To                string           `json:"to"`
	From              []string         `json:"from"`                 // versions upgraded from
	FromSource        string           `json:"fromSource,omitempty"` // the catalog (or --from-file) they came from
	FirstRelease      bool             `json:"firstRelease"`         // nothing released yet: install test only
	Cluster           string           `json:"cluster"`
	KubernetesVersion string           `json:"kubernetesVersion"`
	Scenarios         []ScenarioResult `json:"scenarios"`
	Shard             *ShardReport     `json:"shard,omitempty"` // set when only a share of the scenarios ran (--shard)
	Seconds           float64          `json:"seconds"`
	Passed            bool             `json:"passed"`
	Fleet             *FleetProof      `json:"fleet,omitempty"` // --from fleet: whose upgrades were proven
	// Swept are the namespaces killed runs left behind past their expiry,
	// deleted by this run before its own (chartship.dev/expires).
	Swept []string `json:"swept,omitempty"`
}

// ScenarioResult is one values file upgraded from one version (or installed, first release).
type ScenarioResult struct {
	Name      string  `json:"name"`             // from the values file: "default" for ci/default-values.yaml
	Values    string  `json:"values,omitempty"` // the values file, "" for the chart's defaults
	Kind      string  `json:"kind"`             // KindUpgrade or KindInstall
	From      string  `json:"from,omitempty"`
	To        string  `json:"to"`
	Major     bool    `json:"major"` // crosses a major version
	Namespace string  `json:"namespace"`
	Release   string  `json:"release"`
	Steps     []Step  `json:"steps"`
	Passed    bool    `json:"passed"`
	Note      string  `json:"note,omitempty"`
	Seconds   float64 `json:"seconds"`
	// Clusters run the from-version (--from fleet).
	Clusters []string `json:"clusters,omitempty"`
}

// ID names the scenario in reports, e.g. "default: 1.0.0 → 1.1.0".
func (s ScenarioResult) ID() string {
	if s.Kind == KindInstall || s.From == "" {
		return fmt.Sprintf("%s: install %s", s.Name, s.To)
	}
	return fmt.Sprintf("%s: %s → %s", s.Name, s.From, s.To)
}

// FailedStep returns the first failed step, or nil.
func (s ScenarioResult) FailedStep() *Step {
	for i := range s.Steps {
		if s.Steps[i].Error != "" {
			return &s.Steps[i]
		}
	}
	return nil
}

// Step is one step of a scenario.
type Step struct {
	Name    string  `json:"name"`
	Passed  bool    `json:"passed"`
	Skipped bool    `json:"skipped,omitempty"` // not run because an earlier step failed
	Error   string  `json:"error,omitempty"`
	Details string  `json:"details,omitempty"` // diagnostics, test and hook output
	Seconds float64 `json:"seconds"`
}

// Result is the small document publish/release attach to the package's metadata.
type Result struct {
	Chart             string   `json:"chart"`
	From              []string `json:"from"`
	To                string   `json:"to"`
	FirstRelease      bool     `json:"firstRelease,omitempty"`
	KubernetesVersion string   `json:"kubernetesVersion"`
	Seconds           float64  `json:"seconds"`
	Passed            bool     `json:"passed"`
}

// Result returns the short result document.
func (r *Report) Result() Result {
	return Result{Chart: r.Chart, From: r.From, To: r.To, FirstRelease: r.FirstRelease,
		KubernetesVersion: r.KubernetesVersion, Seconds: r.Seconds, Passed: r.Passed}
}

// Text writes the human summary.
func (r *Report) Text(w io.Writer) {
	verdict := "PASSED"
	if !r.Passed {
		verdict = "FAILED"
	}
	from := strings.Join(r.From, ", ")
	if r.FirstRelease {
		from = "nothing (first release, install test only)"
	} else if r.FromSource != "" {
		from += " in " + r.FromSource
	}
	fmt.Fprintf(w, "upgrade test %s: %s %s from %s on Kubernetes %s (%.1fs)\n",
		verdict, r.Chart, r.To, from, r.KubernetesVersion, r.Seconds)
	if r.Shard != nil {
		fmt.Fprintf(w, "shard %s: %d of %d scenarios\n", r.Shard, len(r.Scenarios), r.Shard.Of)
	}
	if len(r.Swept) > 0 {
		fmt.Fprintf(w, "deleted %d namespace(s) killed runs left behind past their expiry: %s\n", len(r.Swept), strings.Join(r.Swept, ", "))
	}
	for _, s := range r.Scenarios {
		mark := "ok  "
		if !s.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %s (%.1fs)\n", mark, s.ID(), s.Seconds)
		if len(s.Clusters) > 0 {
			fmt.Fprintf(w, "     clusters: %s\n", strings.Join(s.Clusters, ", "))
		}
		if s.Note != "" {
			fmt.Fprintf(w, "     %s\n", s.Note)
		}
		for _, st := range s.Steps {
			switch {
			case st.Skipped:
				fmt.Fprintf(w, "     - %s: skipped\n", st.Name)
			case st.Error != "":
				fmt.Fprintf(w, "     ✗ %s: %s\n", st.Name, st.Error)
				if st.Details != "" {
					fmt.Fprintf(w, "%s\n", indent(st.Details, "       "))
				}
			default:
				fmt.Fprintf(w, "     ✓ %s (%.1fs)\n", st.Name, st.Seconds)
				if strings.HasPrefix(st.Details, "not reconciled here") {
					fmt.Fprintf(w, "       %s\n", st.Details)
				}
			}
		}
	}
	if r.Fleet != nil {
		r.Fleet.text(w)
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// JUnit XML as CircleCI's test-results reader takes it: <testsuites> of <testsuite> (one per
// scenario) of <testcase> (one per step) with <failure> or <skipped>; times in seconds.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

func seconds(f float64) string { return fmt.Sprintf("%.3f", f) }

// WriteJUnit writes the report as JUnit XML: one testcase per scenario step.
func (r *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Name: "chartship upgrade-test " + r.Chart + " " + r.To, Time: seconds(r.Seconds)}
	if r.Shard != nil {
		out.Name += " shard " + r.Shard.String()
	}
	for _, s := range r.Scenarios {
		suite := junitSuite{Name: s.ID(), Time: seconds(s.Seconds)}
		classname := "upgradetest." + r.Chart + "." + s.Name
		for _, st := range s.Steps {
			c := junitCase{Name: st.Name, Classname: classname, File: s.Values, Time: seconds(st.Seconds)}
			switch {
			case st.Skipped:
				c.Skipped = &junitSkipped{Message: "an earlier step failed"}
				suite.Skipped++
			case st.Error != "":
				c.Failure = &junitFailure{Message: firstLine(st.Error), Type: "StepFailed",
					Text: joinNonEmpty(st.Error, st.Details)}
				suite.Failures++
			default:
				c.SystemOut = st.Details
			}
			suite.Cases = append(suite.Cases, c)
			suite.Tests++
		}
		if s.Note != "" && len(suite.Cases) > 0 {
			suite.Cases[0].SystemOut = joinNonEmpty(s.Note, suite.Cases[0].SystemOut)
		}
		out.Suites = append(out.Suites, suite)
		out.Tests += suite.Tests
		out.Failures += suite.Failures
		out.Skipped += suite.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
