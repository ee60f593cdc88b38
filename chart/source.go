package chart

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"

	"github.com/chartship/chartship/internal/errdef"
)

// Limits bound what a chart directory may hold. Zero fields take the defaults.
type Limits struct {
	MaxFileSize  int64 // one file; default DefaultMaxFileSize (what Helm's loader accepts)
	MaxChartSize int64 // all files together; default DefaultMaxChartSize
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	if l.MaxChartSize <= 0 {
		l.MaxChartSize = DefaultMaxChartSize
	}
	return l
}

// FindChartDir returns the chart directory for dir: dir itself when it holds a
// Chart.yaml, else the single chart under dir/helm/ (how Giant Swarm repositories
// lay charts out).
func FindChartDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", errdef.Usage(fmt.Errorf("chart directory %s: %w", dir, err))
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", errdef.Usage(fmt.Errorf("chart directory %s: %w: pass the directory holding Chart.yaml", dir, unwrapPathError(err)))
	}
	if !fi.IsDir() {
		return "", errdef.Usage(fmt.Errorf("%s is not a directory: pass the directory holding Chart.yaml", dir))
	}
	if _, err := os.Stat(filepath.Join(abs, "Chart.yaml")); err == nil {
		return abs, nil
	}
	matches, _ := filepath.Glob(filepath.Join(abs, "helm", "*", "Chart.yaml"))
	switch len(matches) {
	case 1:
		return filepath.Dir(matches[0]), nil
	case 0:
		return "", errdef.Usage(fmt.Errorf("%s: no Chart.yaml here and no chart under %s: pass the chart directory (the one holding Chart.yaml)",
			filepath.Join(dir, "Chart.yaml"), filepath.Join(dir, "helm")+string(filepath.Separator)))
	default:
		var names []string
		for _, m := range matches {
			names = append(names, filepath.Base(filepath.Dir(m)))
		}
		return "", errdef.Usage(fmt.Errorf("%s holds %d charts (%s): pass the one to package", filepath.Join(dir, "helm"), len(matches), strings.Join(names, ", ")))
	}
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readChartFiles reads the files of the chart in dir that Helm would package
// (honouring .helmignore), in path order, leaving out .git and the directory
// skip (the destination, when it lies inside the chart). It refuses irregular
// files, symlinks that resolve outside dir, and files over the limits.
func readChartFiles(dir, skip string, limits Limits) ([]*loader.BufferedFile, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("resolving chart directory %s: %w", dir, err))
	}
	rules := ignore.Empty()
	if _, err := os.Stat(filepath.Join(dir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.ParseFile(filepath.Join(dir, ignore.HelmIgnore)); err != nil {
			return nil, errdef.Usage(fmt.Errorf("%s: %w: fix the ignore patterns", filepath.Join(dir, ignore.HelmIgnore), err))
		}
	}
	rules.AddDefaults()

	r := &chartReader{dir: dir, root: root, rules: rules, limits: limits, active: map[string]bool{}}
	if skip != "" {
		if abs, err := filepath.Abs(skip); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				r.skip = real
			}
		}
	}
	if err := r.walk(root, ""); err != nil {
		return nil, err
	}
	sort.Slice(r.files, func(i, j int) bool { return r.files[i].Name < r.files[j].Name })
	return r.files, nil
}

type chartReader struct {
	dir, root string
	rules     *ignore.Rules
	limits    Limits
	files     []*loader.BufferedFile
	total     int64
	active    map[string]bool // real directories being walked (symlink loops)
	skip      string          // real path of a directory to leave out
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// walk reads the real directory real, which the chart sees at rel ("" for the top).
func (r *chartReader) walk(real, rel string) error {
	if r.active[real] {
		return errdef.Usage(fmt.Errorf("%s: symlink loop: replace the symlink with the files it points to", filepath.Join(r.dir, rel)))
	}
	r.active[real] = true
	defer delete(r.active, real)

	entries, err := os.ReadDir(real)
	if err != nil {
		return errdef.Usage(fmt.Errorf("reading %s: %w", filepath.Join(r.dir, rel), err))
	}
	for _, e := range entries {
		name := e.Name()
		if name == ".git" {
			continue // never part of a chart, even without a .helmignore
		}
		relName := name
		if rel != "" {
			relName = rel + "/" + name
		}
		shown := filepath.Join(r.dir, filepath.FromSlash(relName))
		path := filepath.Join(real, name)
		fi, err := os.Lstat(path)
		if err != nil {
			return errdef.Usage(fmt.Errorf("reading %s: %w", shown, err))
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(path)
			if err != nil {
				return errdef.Usage(fmt.Errorf("%s: broken symlink: %w; remove it or point it at a file inside the chart", shown, unwrapPathError(err)))
			}
			if !within(r.root, target) {
				return errdef.Usage(fmt.Errorf("%s: symlink points to %s, outside the chart directory: copy the file into the chart instead (packages must be self-contained)", shown, target))
			}
			path = target
			if fi, err = os.Stat(target); err != nil {
				return errdef.Usage(fmt.Errorf("reading %s: %w", shown, err))
			}
		}
		if fi.IsDir() {
			if path == r.skip || r.rules.Ignore(relName, fi) {
				continue
			}
			if err := r.walk(path, relName); err != nil {
				return err
			}
			continue
		}
		if r.rules.Ignore(relName, fi) {
			continue
		}
		if !fi.Mode().IsRegular() {
			return errdef.Usage(fmt.Errorf("%s: not a regular file (%s): remove it or add it to .helmignore", shown, fi.Mode().Type()))
		}
		if fi.Size() > r.limits.MaxFileSize {
			return errdef.Usage(fmt.Errorf("%s: %d bytes is over the %d-byte limit for one chart file: shrink it or add it to .helmignore", shown, fi.Size(), r.limits.MaxFileSize))
		}
		r.total += fi.Size()
		if r.total > r.limits.MaxChartSize {
			return errdef.Usage(fmt.Errorf("%s: the chart's files exceed the %d-byte limit for a whole chart: remove large files or add them to .helmignore", shown, r.limits.MaxChartSize))
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return errdef.Usage(fmt.Errorf("reading %s: %w", shown, err))
		}
		r.files = append(r.files, &loader.BufferedFile{Name: relName, Data: bytes.TrimPrefix(data, utf8BOM)})
	}
	return nil
}

// within reports whether path is root or below it.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
