package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// edit replaces the bytes src[start:end] (the characters of one scalar, inside
// its quotes if any) with text.
type edit struct {
	line, column int // the scalar's position as the YAML parser reports it
	start, end   int
	text         string // replacement bytes, quotes included when added
	want         string // the scalar's value after the edit
	// For a scalar inside a literal block (an inline kustomize patch): the
	// block's position, and line/column above are the scalar's within the
	// block's text.
	blockLine, blockColumn int
	// simple: a version replaced by a version in the same style, where the
	// splice cannot change the YAML structure (FuzzRewrite checks this claim
	// against the full proof), so the re-parse can be skipped.
	simple bool
}

// versionLike matches what a chart version or tag looks like: letters, digits
// and . - + _ only, starting with a letter or digit.
var versionLike = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]*$`)

var errUnsafe = errors.New("cannot rewrite this scalar without touching other bytes")

// lineStarts returns the byte offset of each line's first byte, counting line
// breaks the way the YAML parser does: CRLF, CR, LF, NEL, LS and PS.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '\r':
			if i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
			starts = append(starts, i+1)
		case '\n':
			starts = append(starts, i+1)
		case 0xC2:
			if i+1 < len(src) && src[i+1] == 0x85 {
				i++
				starts = append(starts, i+1)
			}
		case 0xE2:
			if i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xA8 || src[i+2] == 0xA9) {
				i += 2
				starts = append(starts, i+1)
			}
		}
	}
	return starts
}

// scalarEdit plans replacing scalar node n of src (whose line starts are lines)
// by value. It refuses — errUnsafe — unless the scalar is a one-line plain,
// single- or double-quoted scalar whose bytes are exactly its value, and value
// can be written in the same style (a plain scalar that would change type, e.g.
// 1.10 → a float, is written double-quoted instead).
func scalarEdit(src []byte, lines []int, n *yaml.Node, value string) (edit, error) {
	e := edit{line: n.Line, column: n.Column, want: value}
	if n.Kind != yaml.ScalarNode || n.Line < 1 || n.Line > len(lines) {
		return e, errUnsafe
	}
	pos := lines[n.Line-1]
	for c := 1; c < n.Column; c++ {
		if pos >= len(src) {
			return e, errUnsafe
		}
		_, size := utf8.DecodeRune(src[pos:])
		pos += size
	}
	// An anchor or tag precedes the value on the same line: skip them.
	for pos < len(src) && (src[pos] == '&' || src[pos] == '!') {
		for pos < len(src) && src[pos] != ' ' && src[pos] != '\t' && src[pos] != '\n' && src[pos] != '\r' {
			pos++
		}
		for pos < len(src) && (src[pos] == ' ' || src[pos] == '\t') {
			pos++
		}
	}
	var quote byte
	switch n.Style &^ yaml.TaggedStyle {
	case 0:
	case yaml.DoubleQuotedStyle:
		quote = '"'
	case yaml.SingleQuotedStyle:
		quote = '\''
	default:
		return e, errUnsafe
	}
	if quote != 0 {
		if pos >= len(src) || src[pos] != quote {
			return e, errUnsafe
		}
		pos++
	}
	end := pos + len(n.Value)
	if n.Value == "" || end > len(src) || string(src[pos:end]) != n.Value || strings.ContainsAny(n.Value, "\r\n\\\"'") {
		return e, errUnsafe
	}
	if quote != 0 && (end >= len(src) || src[end] != quote) {
		return e, errUnsafe
	}
	e.start, e.end = pos, end
	switch quote {
	case 0:
		if !plainSafe(value) {
			return e, fmt.Errorf("%w: %q cannot be written as a plain scalar", errUnsafe, value)
		}
		if n.Tag == "!!str" && n.Style&yaml.TaggedStyle == 0 && resolvedTag(value) != "!!str" {
			// 1.2.0 → 1.10 would turn a string into a float: quote it.
			e.text = `"` + value + `"`
		} else {
			e.text = value
		}
	default:
		if value == "" || strings.ContainsAny(value, "\"'\\\r\n\t") || !utf8.ValidString(value) || hasControl(value) {
			return e, fmt.Errorf("%w: %q cannot be written inside %c quotes unchanged", errUnsafe, value, quote)
		}
		e.text = value
	}
	e.simple = e.text == value && versionLike.MatchString(value) && versionLike.MatchString(n.Value)
	return e, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xFEFF {
			return true
		}
	}
	return false
}

// plainSafe reports whether s can stand as a plain scalar anywhere, including
// inside flow collections.
func plainSafe(s string) bool {
	if s == "" || s != strings.TrimSpace(s) || !utf8.ValidString(s) || hasControl(s) {
		return false
	}
	if strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") {
		return false
	}
	if strings.ContainsAny(s, ",[]{}\"'\\") || strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	return true
}

func resolvedTag(s string) string {
	if strings.Count(s, ".") >= 2 && versionLike.MatchString(s) {
		return "!!str" // 1.2.3 is never a number, bool, null or timestamp
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 {
		return ""
	}
	return n.Content[0].Tag
}

// applyEdits splices edits into src and proves the result: it must parse into
// the same number of documents, and each edited scalar must read back as its
// new value. Bytes outside the edited spans are copied unchanged.
func applyEdits(src []byte, edits []edit) ([]byte, error) {
	before, err := countDocs(src)
	if err != nil {
		return nil, err
	}
	return applyEditsDocs(src, before, edits)
}

// applyEditsDocs is applyEdits for a src known to hold before documents.
func applyEditsDocs(src []byte, before int, edits []edit) ([]byte, error) {
	return splice(src, before, edits, false)
}

// splice writes the edits; unless every edit is simple (or prove is set) it
// re-parses the result to prove it.
func splice(src []byte, before int, edits []edit, prove bool) ([]byte, error) {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var out bytes.Buffer
	out.Grow(len(src) + 16*len(edits))
	last := 0
	for _, e := range edits {
		if e.start < last || e.end < e.start || e.end > len(src) {
			return nil, fmt.Errorf("%w: overlapping edits", errUnsafe)
		}
		out.Write(src[last:e.start])
		out.WriteString(e.text)
		last = e.end
	}
	out.Write(src[last:])
	result := out.Bytes()

	if !prove {
		simple := true
		for _, e := range edits {
			simple = simple && e.simple && e.blockLine == 0
		}
		if simple {
			return result, nil
		}
	}
	after, err := parseDocs(result)
	if err != nil {
		return nil, fmt.Errorf("%w: the edited file no longer parses: %v", errUnsafe, err)
	}
	if len(after) != before {
		return nil, fmt.Errorf("%w: the edited file has %d documents instead of %d", errUnsafe, len(after), before)
	}
	for _, e := range edits {
		// Quoting a plain scalar shifts nothing before it on its line, so the
		// edited scalar is at the same line and column.
		n := findScalar(after, e.line, e.column)
		if e.blockLine > 0 {
			n = nil
			if b := findScalar(after, e.blockLine, e.blockColumn); b != nil {
				if inner, err := parseDocs([]byte(b.Value)); err == nil {
					n = findScalar(inner, e.line, e.column)
				}
			}
		}
		if n == nil || n.Value != e.want {
			return nil, fmt.Errorf("%w: line %d does not read back as %q", errUnsafe, e.line, e.want)
		}
	}
	return result, nil
}

func countDocs(src []byte) (int, error) {
	docs, err := parseDocs(src)
	return len(docs), err
}

// parseDocs parses every document of a YAML stream.
func parseDocs(src []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		docs = append(docs, &n)
	}
}

func findScalar(docs []*yaml.Node, line, column int) *yaml.Node {
	var found *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if found != nil || n == nil {
			return
		}
		if n.Kind == yaml.ScalarNode && n.Line == line && n.Column == column {
			found = n
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	return found
}
