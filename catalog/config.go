package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/internal/errdef"
)

// ConfigFile is the name of the app repository's chartship configuration.
const ConfigFile = ".chartship.yaml"

// Config is the catalogs section of .chartship.yaml:
//
//	catalogs:
//	  - name: test
//	    git: git+https://github.com/ORG/test-catalog.git
//	    indexURL: https://ORG.github.io/test-catalog/   # optional
//	    test: true
//	  - name: release
//	    oci: oci://ghcr.io/ORG/charts
//
// Other sections of the file belong to other commands and are ignored here.
type Config struct {
	Catalogs []NamedCatalog `json:"catalogs,omitempty"`
	// DevSchema is how dev builds are versioned (chart.DevSchema): "rfc" (the
	// default, X.Y.Z-r<crc32>t<time>h<sha>) or "legacy" (X.Y.Z-dev.<branch>.…);
	// --dev-schema wins.
	DevSchema string `json:"devSchema,omitempty"`
	// FleetRepos are the GitOps repositories `release --from fleet` reads the
	// running versions from.
	FleetRepos []string `json:"fleetRepos,omitempty"`
}

// NamedCatalog is a catalog with a name people pass to --to.
type NamedCatalog struct {
	Name     string `json:"name"`
	Git      string `json:"git,omitempty"`      // git+https://…, git+ssh://…, git+file://…
	OCI      string `json:"oci,omitempty"`      // oci://REGISTRY/NAMESPACE
	IndexURL string `json:"indexURL,omitempty"` // public base URL of a git catalog
	Test     bool   `json:"test,omitempty"`     // a test catalog: non-release builds go here
}

// Ref is the catalog's reference, as Open takes it.
func (n NamedCatalog) Ref() string {
	if n.Git != "" {
		return n.Git
	}
	return n.OCI
}

var configName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// LoadConfig reads dir/.chartship.yaml. A missing file is an empty Config.
func LoadConfig(dir string) (*Config, error) {
	p := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("reading %s: %w", p, err))
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s: %w", p, err))
	}
	if err := c.validate(); err != nil {
		return nil, errdef.Usage(fmt.Errorf("%s: %w", p, err))
	}
	return &c, nil
}

// Validate checks the names and references of the catalogs.
func (c *Config) Validate() error { return c.validate() }

func (c *Config) validate() error {
	if c.DevSchema != "" && c.DevSchema != "rfc" && c.DevSchema != "legacy" {
		return fmt.Errorf("devSchema: %q: use rfc (X.Y.Z-r<crc32>t<time>h<sha>, the default) or legacy (X.Y.Z-dev.<branch>.<time>.h<sha>)", c.DevSchema)
	}
	seen := map[string]bool{}
	for i, n := range c.Catalogs {
		switch {
		case !configName.MatchString(n.Name):
			return fmt.Errorf("catalogs[%d]: name %q: use lower-case letters, digits, '.', '_' or '-'", i, n.Name)
		case seen[n.Name]:
			return fmt.Errorf("catalogs[%d]: name %q is used twice", i, n.Name)
		case (n.Git == "") == (n.OCI == ""):
			return fmt.Errorf("catalog %q: give exactly one of git: (git+https://…) or oci: (oci://…)", n.Name)
		case n.Git != "" && !strings.HasPrefix(n.Git, "git+"):
			return fmt.Errorf("catalog %q: git: %q must start with git+ (git+https://, git+ssh://, git+file://)", n.Name, n.Git)
		case n.OCI != "" && !strings.HasPrefix(n.OCI, "oci://"):
			return fmt.Errorf("catalog %q: oci: %q must start with oci://", n.Name, n.OCI)
		case n.IndexURL != "" && n.Git == "":
			return fmt.Errorf("catalog %q: indexURL only applies to git catalogs", n.Name)
		}
		seen[n.Name] = true
	}
	return nil
}

// Resolve returns the named catalog for a name from the config, or a catalog
// (unnamed, Test false) for a reference (anything with "://").
func (c *Config) Resolve(nameOrRef string) (NamedCatalog, error) {
	if strings.Contains(nameOrRef, "://") {
		n := NamedCatalog{}
		if kind, _ := KindOf(nameOrRef); kind == KindOCI {
			n.OCI = nameOrRef
		} else {
			n.Git = nameOrRef // git+…, or a read-only https:// repository
		}
		return n, nil
	}
	for _, n := range c.Catalogs {
		if n.Name == nameOrRef {
			return n, nil
		}
	}
	var names []string
	for _, n := range c.Catalogs {
		names = append(names, n.Name)
	}
	known := "none are configured"
	if len(names) > 0 {
		known = "known: " + strings.Join(names, ", ")
	}
	return NamedCatalog{}, errdef.Usage(fmt.Errorf("--to %q: no catalog of that name in %s (%s); give a URL (git+https://…, oci://…) or add it to the catalogs list there", nameOrRef, ConfigFile, known))
}

// Select returns the configured catalogs that are test catalogs (test true) or
// release catalogs (test false), in file order.
func (c *Config) Select(test bool) []NamedCatalog {
	var out []NamedCatalog
	for _, n := range c.Catalogs {
		if n.Test == test {
			out = append(out, n)
		}
	}
	return out
}

// Open resolves nameOrRef and opens the catalog (see NamedCatalog.Open).
func (c *Config) Open(nameOrRef string, opts Options) (Catalog, error) {
	n, err := c.Resolve(nameOrRef)
	if err != nil {
		return nil, err
	}
	return n.Open(opts)
}

// Open opens the catalog, its indexURL (when set) over opts.
func (n NamedCatalog) Open(opts Options) (Catalog, error) {
	if n.IndexURL != "" {
		opts.Git.IndexURL = n.IndexURL
	}
	return Open(n.Ref(), opts)
}
