package gitops

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Marker is a Flux image-automation setter: a line comment
// `# {"$imagepolicy": "NAMESPACE:NAME[:FIELD]"}` on a YAML scalar.
type Marker struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Field is what the scalar holds: "" (the whole image reference,
	// repository:tag), "tag", or "name" / "digest" (never bumped).
	Field string `json:"field,omitempty"`
}

// String gives the marker as written in the comment.
func (m Marker) String() string {
	if m.Field == "" {
		return m.Namespace + ":" + m.Name
	}
	return m.Namespace + ":" + m.Name + ":" + m.Field
}

const markerKey = "$imagepolicy"

// ParseMarker reads a setter marker from a YAML comment (with or without the
// leading '#'). It returns ok=false when the comment holds no marker, and an
// error when it names one badly.
func ParseMarker(comment string) (m Marker, ok bool, err error) {
	if !strings.Contains(comment, markerKey) {
		return Marker{}, false, nil
	}
	s := strings.TrimSpace(comment)
	// A line comment may span several '#' lines in yaml.v3 (head comments);
	// the marker is the one line that holds it.
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, markerKey) {
			s = strings.TrimSpace(line)
			break
		}
	}
	s = strings.TrimSpace(strings.TrimLeft(s, "#"))
	open, end := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}')
	if open < 0 || end < open {
		return Marker{}, true, fmt.Errorf(`marker %q: want # {"$imagepolicy": "NAMESPACE:NAME:tag"}`, s)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(s[open:end+1]), &obj); err != nil {
		return Marker{}, true, fmt.Errorf(`marker %q is not valid JSON (%v); want # {"$imagepolicy": "NAMESPACE:NAME:tag"}`, s, err)
	}
	raw, found := obj[markerKey]
	if !found {
		return Marker{}, false, nil
	}
	ref, isString := raw.(string)
	if !isString {
		return Marker{}, true, fmt.Errorf(`marker %q: the policy must be a string "NAMESPACE:NAME[:tag|name]"`, s)
	}
	parts := strings.Split(ref, ":")
	switch {
	case len(parts) == 2:
	case len(parts) == 3 && (parts[2] == "tag" || parts[2] == "name" || parts[2] == "digest"):
	case len(parts) == 3:
		return Marker{}, true, fmt.Errorf(`marker %q: field %q unknown; use tag, name or digest (or none for the whole image reference)`, ref, parts[2])
	default:
		return Marker{}, true, fmt.Errorf(`marker %q: want NAMESPACE:NAME, NAMESPACE:NAME:tag or NAMESPACE:NAME:name`, ref)
	}
	for _, p := range parts[:2] {
		if p == "" || strings.ContainsAny(p, " \t\"") {
			return Marker{}, true, fmt.Errorf(`marker %q: namespace and name must be non-empty Kubernetes names`, ref)
		}
	}
	m = Marker{Namespace: parts[0], Name: parts[1]}
	if len(parts) == 3 {
		m.Field = parts[2]
	}
	return m, true, nil
}
