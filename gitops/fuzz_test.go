package gitops

import (
	"bytes"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

func TestParseMarker(t *testing.T) {
	for in, want := range map[string]Marker{
		`# {"$imagepolicy": "default:hello:tag"}`:  {Namespace: "default", Name: "hello", Field: "tag"},
		`{"$imagepolicy":"ns:img"}`:                {Namespace: "ns", Name: "img"},
		`#   {"$imagepolicy": "ns:img:name"}   `:   {Namespace: "ns", Name: "img", Field: "name"},
		`# {"$imagepolicy": "flux-system:x-${c}"}`: {Namespace: "flux-system", Name: "x-${c}"},
	} {
		m, ok, err := ParseMarker(in)
		if err != nil || !ok || m != want {
			t.Errorf("ParseMarker(%q) = %+v, %v, %v; want %+v", in, m, ok, err, want)
		}
	}
	for _, in := range []string{`# {"$imagepolicy": "default"}`, `# {"$imagepolicy": "a:b:c"}`, `# {"$imagepolicy": "a:b:tags"}`, `# {"$imagepolicy": 3}`,
		`# {$imagepolicy: a:b}`, `# {"$imagepolicy": ":b"}`, `# {"$imagepolicy": "a:b:tag:x"}`} {
		if _, ok, err := ParseMarker(in); err == nil || !ok {
			t.Errorf("ParseMarker(%q): want an error", in)
		}
	}
	if _, ok, err := ParseMarker("# just a comment"); ok || err != nil {
		t.Errorf("plain comment taken for a marker")
	}
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{`# {"$imagepolicy": "default:hello:tag"}`, `{"$imagepolicy":"a:b"}`, `# {"$imagepolicy": "a:b:c:d"}`,
		`#{"$imagepolicy": ""}`, `# $imagepolicy }{`, "# {\"$imagepolicy\": \"a:b\"}\n# more"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok, err := ParseMarker(s)
		if err != nil || !ok {
			return
		}
		if m.Namespace == "" || m.Name == "" || (m.Field != "" && m.Field != "tag" && m.Field != "name" && m.Field != "digest") {
			t.Fatalf("accepted a bad marker %+v from %q", m, s)
		}
		back, ok, err := ParseMarker(`# {"$imagepolicy": "` + m.String() + `"}`)
		if err != nil || !ok || back != m {
			t.Fatalf("marker %+v does not round-trip: %+v %v", m, back, err)
		}
	})
}

// FuzzRewrite edits every one-line scalar value of arbitrary YAML. Whenever the
// rewriter accepts, the result parses, the scalar reads back as the new value,
// and every byte outside the edited span is unchanged.
func FuzzRewrite(f *testing.F) {
	seeds := []string{
		"version: 1.2.0 # c\n",
		"a: {b: \"1.2.0\", c: '1.2.0'}\r\n---\nx: [1, 2]\r\n",
		"k: &a 1.2.0\nj: *a\n",
		"- |\n  text\n- 1.2.0\n",
		"%YAML 1.1\n---\nv: !!str 1.2.0\n...\n",
		"é: \"ü\"\nv:   1.2.0   # note\n",
	}
	for _, s := range seeds {
		f.Add(s, "1.10.0")
		f.Add(s, "v2.0.0-rc.1+build.5")
	}
	f.Fuzz(func(t *testing.T, src, value string) {
		docs, err := parseDocs([]byte(src))
		if err != nil {
			return
		}
		lines := lineStarts([]byte(src))
		var scalars []*yaml.Node
		var walk func(n *yaml.Node, isKey bool)
		walk = func(n *yaml.Node, isKey bool) {
			if n.Kind == yaml.ScalarNode && !isKey {
				scalars = append(scalars, n)
			}
			for i, c := range n.Content {
				walk(c, n.Kind == yaml.MappingNode && i%2 == 0)
			}
		}
		for _, d := range docs {
			walk(d, false)
		}
		for _, n := range scalars {
			e, err := scalarEdit([]byte(src), lines, n, value)
			if err != nil {
				continue
			}
			out, err := applyEdits([]byte(src), []edit{e})
			if err != nil {
				continue // refused after the proof: nothing written
			}
			if e.simple {
				// The fast path skips the re-parse: the full proof must agree.
				if _, err := splice([]byte(src), len(docs), []edit{e}, true); err != nil {
					t.Fatalf("simple edit fails the proof: %v", err)
				}
			}
			if !bytes.Equal(out[:e.start], []byte(src[:e.start])) {
				t.Fatalf("bytes before the scalar changed")
			}
			if !bytes.Equal(out[len(out)-(len(src)-e.end):], []byte(src[e.end:])) {
				t.Fatalf("bytes after the scalar changed")
			}
			if _, err := parseDocs(out); err != nil {
				t.Fatalf("result does not parse: %v\n%s", err, out)
			}
			mid := string(out[e.start : len(out)-(len(src)-e.end)])
			if strings.Trim(mid, `"`) != value {
				t.Fatalf("spliced %q, want %q", mid, value)
			}
		}
	})
}
