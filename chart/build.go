package chart

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/internal/atomicfile"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
)

// Defaults, in one place.
const (
	DefaultDestination  = "build"
	DefaultTagPrefix    = "v"
	DefaultRemote       = "origin"
	DefaultMaxFileSize  = 5 << 20   // Helm's loader refuses bigger files
	DefaultMaxChartSize = 100 << 20 // Helm's loader refuses bigger charts
	DefaultNamespace    = "default"
	// AppVersionFromChart as BuildOptions.AppVersion copies the chart version.
	AppVersionFromChart = "chart"
)

// DefaultSourceDate is the archive mtime when neither BuildOptions.SourceDate
// nor a git commit gives one.
var DefaultSourceDate = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Catalog annotations that app-operator reads; CatalogBaseURL stamps them.
const (
	AnnotationMetadata     = "application.giantswarm.io/metadata"
	AnnotationReadme       = "application.giantswarm.io/readme"
	AnnotationValuesSchema = "application.giantswarm.io/values-schema"
)

// BuildOptions configure Build, grouped by concern. The zero value packages the
// chart with the version from git into DefaultDestination.
type BuildOptions struct {
	// Destination is the directory the .tgz (and .tgz.prov) go to; default "build".
	Destination string
	Version     VersionOptions
	// AppVersion: "" keeps Chart.yaml's appVersion, AppVersionFromChart copies
	// the chart version, anything else replaces it.
	AppVersion   string
	Name         NameOptions
	Dependencies DependencyOptions
	Lint         LintOptions
	Limits       Limits
	// CatalogBaseURL, when set, stamps the catalog annotations pointing at
	// <CatalogBaseURL><chart>-<version>.tgz-meta/{main.yaml,README.md,values.schema.json}.
	CatalogBaseURL string
	Sign           SignOptions
	// AllowDirty packages a release (HEAD on a release tag) from a work tree whose
	// chart directory has uncommitted changes; without it that is refused, as the
	// release would hold more than its tag.
	AllowDirty bool
	// SourceDate fixes every mtime in the archive (SOURCE_DATE_EPOCH); default:
	// HEAD's commit time, else DefaultSourceDate.
	SourceDate time.Time
	Logger     *slog.Logger // nil: discard
}

// NameOptions configure the check that the chart is named after its repository.
type NameOptions struct {
	// RepoName is the repository's name ("owner/name" works too); default: the
	// git work tree's directory name, else the directory above helm/ or the chart
	// directory itself.
	RepoName string
	// AllowMismatch skips the check.
	AllowMismatch bool
}

// Result is what Build made and decided.
type Result struct {
	Package  *Package `json:"-"`
	ChartDir string   `json:"chartDir"`
	Version  Version  `json:"version"`
	// Warnings are lint warnings that did not fail the build (LintOptions.Strict off).
	Warnings []string `json:"warnings,omitempty"`
}

func (o BuildOptions) withDefaults() BuildOptions {
	if o.Destination == "" {
		o.Destination = DefaultDestination
	}
	o.Version = o.Version.withDefaults()
	o.Limits = o.Limits.withDefaults()
	o.Lint = o.Lint.withDefaults()
	o.Logger = logging.OrDiscard(o.Logger)
	return o
}

// Build packages the chart in dir (or the single chart under dir/helm/) the
// way a release needs it: version from git (see ResolveVersion), name checked
// against the repository, dependencies built like `helm dependency build`, linted
// with Helm's rules plus values.schema.json against values.yaml and every
// ci/*-values.yaml, and written as a reproducible .tgz — the same source and
// version give the same bytes. Nothing is written to Destination unless every
// step succeeds.
func Build(ctx context.Context, dir string, opts BuildOptions) (*Result, error) {
	opts = opts.withDefaults()
	log := opts.Logger

	chartDir, err := FindChartDir(dir)
	if err != nil {
		return nil, err
	}
	chartFile := filepath.Join(chartDir, "Chart.yaml")
	meta, err := readChartfile(chartFile)
	if err != nil {
		return nil, err
	}

	ver, err := ResolveVersion(ctx, chartDir, opts.Version)
	if err != nil {
		return nil, err
	}
	log.Debug("version resolved", "version", ver.Version, "source", ver.Source, "tag", ver.Tag)
	if ver.Dirty {
		if err := refuseDirtyRelease(ctx, chartDir, ver, opts); err != nil {
			return nil, err
		}
		log.Warn("the git work tree has uncommitted changes: the package holds them, but its version names only the commit", "repository", ver.RepoRoot, "version", ver.Version)
	}
	if ver.Source == VersionFromTag && meta.Version != ver.Version {
		log.Warn(fmt.Sprintf("%s says version %s, the tag %s says %s: packaging %s (the tag wins)", chartFile, meta.Version, ver.Tag, ver.Version, ver.Version),
			"chartYAML", meta.Version, "tag", ver.Tag, "version", ver.Version)
	}

	if err := checkName(meta.Name, chartFile, repoName(opts.Name.RepoName, ver, chartDir), opts.Name.AllowMismatch); err != nil {
		return nil, err
	}

	if len(meta.Dependencies) > 0 {
		if err := buildDependencies(ctx, chartDir, meta, opts.Dependencies, log); err != nil {
			return nil, err
		}
	}

	files, err := readChartFiles(chartDir, opts.Destination, opts.Limits)
	if err != nil {
		return nil, err
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("loading chart %s: %s: fix the file it names", chartDir, oneLine(err.Error())))
	}

	mtime := opts.SourceDate
	if mtime.IsZero() {
		mtime = ver.CommitTime
	}
	if mtime.IsZero() {
		mtime = DefaultSourceDate
	}
	if c.Lock != nil {
		// Helm stamps a Chart.lock it generates with the wall clock; the
		// packaged one gets the source date, so a fresh clone without a
		// committed Chart.lock packages the same bytes.
		c.Lock.Generated = mtime.UTC()
	}

	stamp(c, ver.Version, opts)
	if err := c.Validate(); err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s: invalid after stamping version %s: %s", chartFile, ver.Version, oneLine(err.Error())))
	}

	res := &Result{ChartDir: chartDir, Version: ver}
	if !opts.Lint.Skip {
		if res.Warnings, err = lintChart(c, chartDir, opts.Lint); err != nil {
			return nil, err
		}
		for _, w := range res.Warnings {
			log.Warn("lint", "message", w)
		}
	}

	cmeta, err := sourceCatalogMeta(chartDir, ver.RepoRoot, files)
	if err != nil {
		return nil, err
	}
	pkg, err := writePackage(c, opts.Destination, mtime, opts.Sign)
	if err != nil {
		return nil, err
	}
	pkg.Meta = cmeta
	if err := writeCatalogMeta(pkg); err != nil {
		os.Remove(pkg.Path)
		return nil, err
	}
	log.Debug("packaged", "chart", pkg.String(), "path", pkg.Path, "digest", pkg.Digest.String())
	res.Package = pkg
	return res, nil
}

// readChartfile parses Chart.yaml for the checks that come before loading the
// whole chart, with an error that names the file.
func readChartfile(file string) (*helmchart.Metadata, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s: %w: create it (see `helm create`) or pass the chart directory", file, unwrapPathError(err)))
	}
	meta := new(helmchart.Metadata)
	if err := yaml.Unmarshal(data, meta); err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s is not a valid Chart.yaml: %s: fix the YAML", file, oneLine(err.Error())))
	}
	if meta.Name == "" {
		return nil, errdef.Usage(fmt.Errorf("%s has no name: add `name: <chart name>`", file))
	}
	if meta.APIVersion == "" {
		return nil, errdef.Usage(fmt.Errorf("%s has no apiVersion: add `apiVersion: v2`", file))
	}
	return meta, nil
}

// repoName decides the repository name the chart name is checked against.
func repoName(explicit string, ver Version, chartDir string) string {
	if explicit != "" {
		return path.Base(strings.TrimSuffix(filepath.ToSlash(explicit), ".git"))
	}
	parent := filepath.Dir(chartDir)
	switch filepath.Base(parent) {
	case "charts", "helm":
		// A monorepo (charts/<chart>/, or several charts under helm/): each chart
		// is named after its directory.
		if m, _ := filepath.Glob(filepath.Join(parent, "*", "Chart.yaml")); len(m) > 1 || filepath.Base(parent) == "charts" {
			return filepath.Base(chartDir)
		}
	}
	if n := ver.repoDirName(); n != "" {
		return n
	}
	if filepath.Base(parent) == "helm" {
		return filepath.Base(filepath.Dir(parent))
	}
	return filepath.Base(chartDir)
}

// checkName: the chart is named after its repository, with "-app" stripped or added.
func checkName(name, chartFile, repo string, allow bool) error {
	if allow || repo == "" || name == repo || name == repo+"-app" || name+"-app" == repo {
		return nil
	}
	return errdef.Usage(fmt.Errorf("%s: chart name %q does not match the repository name %q (expected %q or %q): rename the chart or pass --allow-name-mismatch",
		chartFile, name, repo, strings.TrimSuffix(repo, "-app"), strings.TrimSuffix(repo, "-app")+"-app"))
}

// stamp writes the version, app version and catalog annotations into Chart.yaml.
func stamp(c *helmchart.Chart, version string, opts BuildOptions) {
	c.Metadata.Version = version
	switch opts.AppVersion {
	case "":
	case AppVersionFromChart:
		c.Metadata.AppVersion = version
	default:
		c.Metadata.AppVersion = opts.AppVersion
	}
	if opts.CatalogBaseURL != "" {
		base := opts.CatalogBaseURL
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		meta := base + c.Name() + "-" + version + ".tgz-meta/"
		if c.Metadata.Annotations == nil {
			c.Metadata.Annotations = map[string]string{}
		}
		c.Metadata.Annotations[AnnotationMetadata] = meta + "main.yaml"
		c.Metadata.Annotations[AnnotationReadme] = meta + "README.md"
		c.Metadata.Annotations[AnnotationValuesSchema] = meta + "values.schema.json"
	}
}

// writePackage writes the archive (and its signature) into a temporary
// directory inside dest, checks that Helm loads it, then renames it into place.
func writePackage(c *helmchart.Chart, dest string, mtime time.Time, sign SignOptions) (*Package, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, errdef.Usage(fmt.Errorf("creating destination %s: %w", dest, err))
	}
	base := c.Name() + "-" + c.Metadata.Version + ".tgz"
	var buf bytes.Buffer
	if err := writeArchive(&buf, c, mtime); err != nil {
		return nil, errdef.Usage(fmt.Errorf("writing chart archive %s: %w", base, err))
	}

	// What we wrote must be a chart Helm loads, with the Chart.yaml we stamped.
	loaded, err := loader.LoadArchive(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("internal error: Helm cannot load the archive chartship wrote for %s: %w", base, err)
	}
	// Equal structs are the common case and cheap to check; only when they differ
	// (nil vs empty lists, say) do the serialised forms decide.
	if !reflect.DeepEqual(c.Metadata, loaded.Metadata) {
		want, _ := yaml.Marshal(c.Metadata)
		got, _ := yaml.Marshal(loaded.Metadata)
		if !bytes.Equal(want, got) {
			return nil, fmt.Errorf("internal error: packaged Chart.yaml differs from the stamped one:\n%s\nvs\n%s", got, want)
		}
	}

	// The archive goes to a temporary name in dest and is renamed at the end.
	// Signing needs the final base name (the .prov names the file), so it works
	// in a temporary directory instead.
	var tmpPath string
	if sign.enabled() {
		tmp, terr := os.MkdirTemp(dest, ".chartship-")
		if terr != nil {
			return nil, errdef.Usage(fmt.Errorf("writing into destination %s: %w", dest, terr))
		}
		defer os.RemoveAll(tmp)
		tmpPath = filepath.Join(tmp, base)
		err = os.WriteFile(tmpPath, buf.Bytes(), 0o644)
	} else {
		tmpPath, err = atomicfile.WriteTemp(dest, "."+base+".*", buf.Bytes(), 0o644)
	}
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("writing the archive into %s: %w", dest, err))
	}
	defer os.Remove(tmpPath) // no-op after the rename
	pkg := NewPackage("", buf.Bytes(), loaded)

	if sign.enabled() {
		if err := signArchive(tmpPath, sign); err != nil {
			return nil, err
		}
	}

	final := filepath.Join(dest, base)
	if err := os.Rename(tmpPath, final); err != nil {
		return nil, errdef.Usage(fmt.Errorf("moving the archive to %s: %w", final, err))
	}
	pkg.Path, pkg.ProvPath = final, ""
	if sign.enabled() {
		if err := os.Rename(tmpPath+".prov", final+".prov"); err != nil {
			os.Remove(final)
			return nil, errdef.Usage(fmt.Errorf("moving the provenance file to %s.prov: %w", final, err))
		}
		pkg.ProvPath = final + ".prov"
	} else {
		// A provenance file from an earlier signed build would not match.
		_ = os.Remove(final + ".prov")
	}
	return pkg, nil
}
