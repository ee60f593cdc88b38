package chart

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"time"

	helmchart "helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"
)

// writeArchive writes chart c as a gzipped tar the way Helm lays it out
// (<name>/Chart.yaml, …, dependencies expanded under <name>/charts/<dep>/), but
// reproducibly: entries sorted by path with the top Chart.yaml first, every mtime
// set to mtime, owner 0:0 without names, mode 0644, and a gzip header without
// name or time. The bytes depend only on the chart's content and mtime.
func writeArchive(w io.Writer, c *helmchart.Chart, mtime time.Time) error {
	var entries []tarEntry
	if err := collectEntries(c, "", &entries); err != nil {
		return err
	}
	top := c.Name() + "/Chart.yaml"
	sort.SliceStable(entries, func(i, j int) bool {
		if (entries[i].name == top) != (entries[j].name == top) {
			return entries[i].name == top
		}
		return entries[i].name < entries[j].name
	})

	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	// Zero ModTime and empty Name/Comment: the header carries nothing variable.
	tw := tar.NewWriter(zw)
	mtime = mtime.UTC().Truncate(time.Second)
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.name] {
			return fmt.Errorf("two files would be packaged as %s", e.name)
		}
		seen[e.name] = true
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.name,
			Mode:     0o644,
			Size:     int64(len(e.data)),
			ModTime:  mtime,
			Format:   tar.FormatPAX,
		}
		if len(e.name) <= 100 {
			hdr.Format = tar.FormatUSTAR
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

type tarEntry struct {
	name string
	data []byte
}

// collectEntries lists what Helm's chartutil.Save writes for c under prefix.
func collectEntries(c *helmchart.Chart, prefix string, out *[]tarEntry) error {
	if c.Name() == "" || path.Base(c.Name()) != c.Name() || c.Name() == "." || c.Name() == ".." {
		return fmt.Errorf("invalid chart name %q", c.Name())
	}
	base := path.Join(prefix, c.Name())
	add := func(name string, data []byte) { *out = append(*out, tarEntry{path.Join(base, name), data}) }

	meta := *c.Metadata
	if meta.APIVersion == helmchart.APIVersionV1 {
		meta.Dependencies = nil // v1 charts keep them in requirements.yaml
	}
	cdata, err := yaml.Marshal(&meta)
	if err != nil {
		return err
	}
	add("Chart.yaml", cdata)
	if meta.APIVersion == helmchart.APIVersionV2 && c.Lock != nil {
		ldata, err := yaml.Marshal(c.Lock)
		if err != nil {
			return err
		}
		add("Chart.lock", ldata)
	}
	for _, f := range c.Raw {
		if f.Name == "values.yaml" {
			add("values.yaml", f.Data)
		}
	}
	if c.Schema != nil {
		if !json.Valid(c.Schema) {
			return fmt.Errorf("%s/values.schema.json is not valid JSON", base)
		}
		add("values.schema.json", c.Schema)
	}
	for _, f := range c.Templates {
		add(f.Name, f.Data)
	}
	for _, f := range c.Files {
		add(f.Name, f.Data)
	}
	for _, dep := range c.Dependencies() {
		if err := collectEntries(dep, path.Join(base, "charts"), out); err != nil {
			return err
		}
	}
	return nil
}
