package catalog

import (
	"os"
	"path/filepath"
)

// FindConfig loads the .chartship.yaml that applies to dir: the nearest one in
// dir or a parent, up to the root of dir's git work tree. None found is an empty
// Config.
func FindConfig(dir string) (*Config, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return LoadConfig(dir)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ConfigFile)); err == nil {
			return LoadConfig(d)
		}
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil || filepath.Dir(d) == d {
			return &Config{}, nil
		}
	}
}
