// Package atomicfile writes files so that a reader sees the old content or the
// new, never a part: the data goes to a temporary file beside the target, which
// is then renamed over it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteTemp writes data to a new file in dir named by pattern (see
// os.CreateTemp) with mode perm and returns its path; on error nothing is left
// behind. The caller renames it into place (or removes it).
func WriteTemp(dir, pattern string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Write replaces (or creates) the file at path with data and mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	tmp, err := WriteTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*", data, perm)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
