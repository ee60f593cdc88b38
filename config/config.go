// Package config owns .chartship.yaml, the app repository's whole chartship
// setup: catalogs, packaging, registry and git options, the upgrade test's
// cluster and scenarios, signing, the release's stages and the bump. It reads
// the file strictly — an unknown key is an error naming its line — and checks
// it; the CLI maps it under its flags (flags and their environment variables
// win). schema.json, shipped beside this file, describes the same keys for
// editors and is tested against this package and the README's examples.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/suggest"
)

// FileName is the configuration's file name.
const FileName = catalog.ConfigFile

// Schema is the JSON Schema (draft 2020-12) of the file.
//
//go:embed schema.json
var Schema []byte

// File is .chartship.yaml. Every section is optional; a missing file is the
// zero File.
type File struct {
	Catalogs    []Catalog   `yaml:"catalogs"`
	DevSchema   string      `yaml:"devSchema"`  // see catalog.Config
	FleetRepos  []string    `yaml:"fleetRepos"` // see catalog.Config
	Package     Package     `yaml:"package"`
	Registry    Registry    `yaml:"registry"`
	Git         Git         `yaml:"git"`
	UpgradeTest UpgradeTest `yaml:"upgradeTest"`
	Signing     Signing     `yaml:"signing"`
	Stages      []string    `yaml:"stages"`
	Bump        Bump        `yaml:"bump"`
	Commits     Commits     `yaml:"commits"`

	// Dir is the directory holding the file ("" when there is none); relative
	// paths in the file are relative to it.
	Dir string `yaml:"-"`
}

// Catalog is a named catalog (see catalog.NamedCatalog).
type Catalog struct {
	Name     string `yaml:"name"`
	Git      string `yaml:"git"`
	OCI      string `yaml:"oci"`
	IndexURL string `yaml:"indexURL"`
	Test     bool   `yaml:"test"`
}

// Package says how the chart is packaged (chartship package, release).
type Package struct {
	TagPrefix         string `yaml:"tagPrefix"`
	Destination       string `yaml:"destination"`
	AppVersion        string `yaml:"appVersion"`
	Strict            *bool  `yaml:"strict"`
	KubeVersion       string `yaml:"kubeVersion"`
	CatalogBaseURL    string `yaml:"catalogBaseURL"`
	RepoName          string `yaml:"repoName"`
	AllowNameMismatch *bool  `yaml:"allowNameMismatch"`
}

// Registry configures OCI registries.
type Registry struct {
	PlainHTTP             *bool  `yaml:"plainHTTP"`
	InsecureSkipTLSVerify *bool  `yaml:"insecureSkipTLSVerify"`
	CAFile                string `yaml:"caFile"`
	Retries               *int   `yaml:"retries"`
	Timeout               string `yaml:"timeout"`
	AzureAuth             string `yaml:"azureAuth"`
}

// Git configures git catalogs.
type Git struct {
	CatalogBranch string `yaml:"catalogBranch"`
	Username      string `yaml:"username"`
}

// UpgradeTest configures the upgrade test: where it runs and what.
type UpgradeTest struct {
	Cluster       string   `yaml:"cluster"`
	Kubeconfig    string   `yaml:"kubeconfig"`
	KubeContext   string   `yaml:"kubeContext"`
	Kind          Kind     `yaml:"kind"`
	From          string   `yaml:"from"`
	FromCatalog   string   `yaml:"fromCatalog"`
	Values        []string `yaml:"values"`
	Set           []string `yaml:"set"`
	SetString     []string `yaml:"setString"`
	SetFile       []string `yaml:"setFile"`
	Hook          string   `yaml:"hook"`
	RollbackCheck *bool    `yaml:"rollbackCheck"`
	SkipTests     *bool    `yaml:"skipTests"`
	Breaking      string   `yaml:"breaking"`
	Parallel      *int     `yaml:"parallel"`
	Timeout       string   `yaml:"timeout"`
	MaxRestarts   *int     `yaml:"maxRestarts"`
}

// Kind configures the kind cluster.
type Kind struct {
	Name        string   `yaml:"name"`
	NodeImage   string   `yaml:"nodeImage"`
	KeepCluster *bool    `yaml:"keepCluster"`
	LoadImages  []string `yaml:"loadImages"`
}

// Signing configures provenance signing (helm package --sign).
type Signing struct {
	Key            string `yaml:"key"`
	Keyring        string `yaml:"keyring"`
	PassphraseFile string `yaml:"passphraseFile"`
}

// Bump configures the GitOps bump after a release.
type Bump struct {
	Repos     []string `yaml:"repos"`
	Policy    string   `yaml:"policy"`
	PR        *bool    `yaml:"pr"`
	PushTo    string   `yaml:"pushTo"`
	Branch    string   `yaml:"branch"`
	Message   string   `yaml:"message"`
	AllowNone *bool    `yaml:"allowNone"`
}

// Commits says who makes chartship's commits (catalogs, GitOps repositories).
type Commits struct {
	Author    Identity `yaml:"author"`
	Committer Identity `yaml:"committer"`
	// SigningKey signs the commits: an SSH key file (relative to the file's
	// directory) or, with SigningFormat openpgp, a gpg key id.
	SigningKey    string `yaml:"signingKey"`
	SigningFormat string `yaml:"signingFormat"` // ssh (default) or openpgp
}

// Identity is a git identity.
type Identity struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
}

// Stages a release runs, in order; package and publish can't be left out.
var Stages = []string{"package", "upgrade-test", "publish", "bump"}

// Load reads dir/.chartship.yaml. A missing file is the zero File (Dir "").
func Load(dir string) (*File, error) {
	p := filepath.Join(dir, FileName)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("reading %s: %w", p, err))
	}
	f, err := Parse(b, p)
	if err != nil {
		return nil, err
	}
	f.Dir = dir
	return f, nil
}

// Find loads the .chartship.yaml that applies to dir: the nearest one in dir
// or a parent, up to the root of dir's git work tree. None is the zero File.
func Find(dir string) (*File, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Load(dir)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, FileName)); err == nil {
			return Load(d)
		}
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil || filepath.Dir(d) == d {
			return &File{}, nil
		}
	}
}

// Parse reads the file's content; name (the path) prefixes errors.
func Parse(data []byte, name string) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, errdef.Usage(explain(name, err))
	}
	if err := f.Validate(); err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s: %w", name, err))
	}
	return &f, nil
}

var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type (\S+)$`)
var lineMsg = regexp.MustCompile(`^line (\d+): (.*)$`)

// explain turns yaml's decoding errors into "FILE:LINE: …" lines that name
// the unknown key and the keys known there.
func explain(name string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := lineMsg.FindStringSubmatch(msg); m != nil {
			return fmt.Errorf("%s:%s: %s: fix the YAML", name, m[1], m[2])
		}
		return fmt.Errorf("%s: %s: fix the YAML", name, msg)
	}
	var lines []string
	for _, e := range te.Errors {
		if m := unknownField.FindStringSubmatch(e); m != nil {
			known := keysOf(m[3])
			hint := ""
			if s := suggest.Closest(m[2], known); s != "" {
				hint = fmt.Sprintf("; did you mean %s?", s)
			}
			lines = append(lines, fmt.Sprintf("%s:%s: unknown key %q%s (known here: %s)", name, m[1], m[2], hint, strings.Join(known, ", ")))
			continue
		}
		if m := lineMsg.FindStringSubmatch(e); m != nil {
			lines = append(lines, fmt.Sprintf("%s:%s: %s", name, m[1], m[2]))
			continue
		}
		lines = append(lines, name+": "+e)
	}
	return errors.New(strings.Join(lines, "; "))
}

// keysOf lists the keys of the File section whose Go type is named typeName ("config.Bump").
func keysOf(typeName string) []string {
	var found []string
	var walk func(t reflect.Type)
	seen := map[reflect.Type]bool{}
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		if t.String() == typeName {
			found = Keys(t)
		}
		for i := 0; i < t.NumField(); i++ {
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeOf(File{}))
	return found
}

// Keys lists the YAML keys of a section's struct type, sorted.
func Keys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks values the schema also checks, with errors naming the key.
func (f *File) Validate() error {
	if err := f.CatalogConfig().Validate(); err != nil {
		return err
	}
	for key, d := range map[string]string{"registry.timeout": f.Registry.Timeout, "upgradeTest.timeout": f.UpgradeTest.Timeout} {
		if d == "" {
			continue
		}
		if v, err := time.ParseDuration(d); err != nil || v <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration: write e.g. 5m or 90s", key, d)
		}
	}
	enums := []struct {
		key, value string
		allowed    []string
	}{
		{"upgradeTest.cluster", f.UpgradeTest.Cluster, []string{"kind", "kubeconfig"}},
		{"upgradeTest.breaking", f.UpgradeTest.Breaking, []string{"test", "warn", "fail"}},
		{"registry.azureAuth", f.Registry.AzureAuth, []string{"auto", "environment", "workload-identity", "managed-identity", "off"}},
	}
	for _, e := range enums {
		if e.value != "" && !slices.Contains(e.allowed, e.value) {
			return fmt.Errorf("%s: %q: use %s", e.key, e.value, strings.Join(e.allowed, ", "))
		}
	}
	for key, n := range map[string]*int{"registry.retries": f.Registry.Retries, "upgradeTest.parallel": f.UpgradeTest.Parallel, "upgradeTest.maxRestarts": f.UpgradeTest.MaxRestarts} {
		if n != nil && *n < 0 {
			return fmt.Errorf("%s: %d: give 0 or more", key, *n)
		}
	}
	if len(f.Stages) > 0 {
		for _, s := range f.Stages {
			if !slices.Contains(Stages, s) {
				return fmt.Errorf("stages: %q is no stage: use %s", s, strings.Join(Stages, ", "))
			}
		}
		for _, must := range []string{"package", "publish"} {
			if !slices.Contains(f.Stages, must) {
				return fmt.Errorf("stages: a release always runs %s: list it", must)
			}
		}
	}
	for _, id := range []struct {
		key string
		id  Identity
	}{{"commits.author", f.Commits.Author}, {"commits.committer", f.Commits.Committer}} {
		if (id.id.Name == "") != (id.id.Email == "") {
			return fmt.Errorf("%s: give both name and email", id.key)
		}
	}
	switch f.Commits.SigningFormat {
	case "", "ssh", "openpgp":
	default:
		return fmt.Errorf("commits.signingFormat: %q is no signing format: use ssh or openpgp", f.Commits.SigningFormat)
	}
	if f.Commits.SigningFormat != "" && f.Commits.SigningKey == "" {
		return errors.New("commits.signingFormat without commits.signingKey: give the key")
	}
	return nil
}

// Runs reports whether a release runs stage (all do when stages is not set).
func (f *File) Runs(stage string) bool {
	return len(f.Stages) == 0 || slices.Contains(f.Stages, stage)
}

// CatalogConfig is the catalogs section as the catalog package takes it.
func (f *File) CatalogConfig() *catalog.Config {
	c := &catalog.Config{DevSchema: f.DevSchema, FleetRepos: f.FleetRepos}
	for _, n := range f.Catalogs {
		c.Catalogs = append(c.Catalogs, catalog.NamedCatalog{Name: n.Name, Git: n.Git, OCI: n.OCI, IndexURL: n.IndexURL, Test: n.Test})
	}
	return c
}

// Path resolves a path from the file against the file's directory.
func (f *File) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || f.Dir == "" {
		return p
	}
	return filepath.Join(f.Dir, p)
}

// Bool, Int: the text of an optional value, "" when unset.
func Bool(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

// Int is the text of an optional int, "" when unset.
func Int(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}
