// Package helmindex adds entries to a Helm repository's index.yaml. The index
// splice: add one entry to a Helm repository index.yaml the way
// `helm repo index --merge` would place it, without loading the whole index into
// helm's object model. Helm writes index.yaml in one canonical layout (sigs.k8s.io
// yaml: keys sorted, two-space indentation, each chart's versions newest first).
// indexScan checks that layout line by line and finds where each chart's block
// starts and ends; indexInsert renders the new entry with helm's own marshaller at
// the same depth and splices it in, replacing only the `generated:` line besides.
// A file not in that layout falls back to helm's own merge (indexMergeHelm).
package helmindex

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/errdef"
)

// errIndexNotCanonical says the splice can't be used; the reason follows.
var errIndexNotCanonical = errors.New("index.yaml is not in helm's canonical layout")

// indexChart is one chart's block in a canonical index: [start, end) covers the
// chart key line and all its entries; body is where its first entry starts.
type indexChart struct {
	name       string
	start, end int
}

// indexLayout is what indexScan found in a canonical index.yaml.
type indexLayout struct {
	entriesStart, entriesEnd int  // the `entries:` line; the end of the entries section
	emptyEntries             bool // the file says `entries: {}`
	generatedStart           int  // the `generated:` line, [start, end)
	generatedEnd             int
	charts                   []indexChart
}

// indexEntryLoc is one version entry found in a chart's block.
type indexEntryLoc struct {
	start   int // offset of its `  - ` line
	version string
	digest  string
}

// indexTopKeys are the top-level keys helm writes, in the order it writes them.
var indexTopKeys = []string{"annotations", "apiVersion", "entries", "generated", "publicKeys", "serverInfo"}

// indexLine is one line of the file as the lexer sees it.
type indexLine struct {
	start, end int    // [start, end) without the newline
	next       int    // start of the next line
	indent     int    // leading spaces
	text       []byte // the line without indentation and newline
	structural bool   // false inside a multi-line scalar (quoted or block)
}

// indexLexer walks the lines of a YAML file written by helm and knows which of
// them start in structure (not inside a multi-line scalar). It refuses anything
// helm's writer does not produce: tabs or CR, comments, anchors, aliases, tags,
// multi-line flow collections, document markers.
type indexLexer struct {
	data        []byte
	pos         int
	quote       byte // '"' or '\'' while inside a multi-line quoted scalar
	quoteIndent int  // indentation of the line that opened it
	block       int  // >= 0: inside a block scalar whose parent line has this indent
	plain       int  // >= 0: a plain scalar on a line of this indent may go on below
}

func newIndexLexer(data []byte, pos int) *indexLexer {
	return &indexLexer{data: data, pos: pos, block: -1, plain: -1}
}

// next returns the next line, or ok=false at the end of data.
func (lx *indexLexer) next() (l indexLine, ok bool, err error) {
	if lx.pos >= len(lx.data) {
		return l, false, nil
	}
	l.start = lx.pos
	nl := bytes.IndexByte(lx.data[lx.pos:], '\n')
	if nl < 0 {
		return l, false, fmt.Errorf("%w: the file does not end with a newline", errIndexNotCanonical)
	}
	l.end = lx.pos + nl
	l.next = l.end + 1
	lx.pos = l.next
	line := lx.data[l.start:l.end]
	for l.indent < len(line) && line[l.indent] == ' ' {
		l.indent++
	}
	l.text = line[l.indent:]
	blank := len(l.text) == 0
	if bytes.IndexByte(line, '\r') >= 0 {
		return l, false, fmt.Errorf("%w: CRLF line endings", errIndexNotCanonical)
	}
	if lx.block >= 0 {
		if blank || l.indent > lx.block {
			return l, true, nil // block scalar content
		}
		lx.block = -1
	}
	if lx.plain >= 0 {
		if !blank && l.indent > lx.plain {
			// A folded plain scalar goes on; it may start with any character.
			if err := indexPlain(l.text, l.start); err != nil {
				return l, false, err
			}
			return l, true, nil
		}
		if !blank {
			lx.plain = -1
		}
	}
	if lx.quote != 0 {
		if l.indent <= lx.quoteIndent && !blank {
			return l, false, fmt.Errorf("%w: a quoted scalar continues at line offset %d with less indentation", errIndexNotCanonical, l.start)
		}
		rest, closed := indexCloseQuote(l.text, lx.quote)
		if !closed {
			return l, true, nil
		}
		lx.quote = 0
		if err := indexAfterScalar(rest); err != nil {
			return l, false, err
		}
		return l, true, nil
	}
	if blank {
		return l, true, nil
	}
	if l.text[0] == '\t' {
		return l, false, fmt.Errorf("%w: a tab in indentation", errIndexNotCanonical)
	}
	l.structural = true
	if err := lx.lexStructural(l); err != nil {
		return l, false, err
	}
	return l, true, nil
}

// lexStructural checks one structural line and notes any multi-line scalar it opens.
func (lx *indexLexer) lexStructural(l indexLine) error {
	t := l.text
	col := l.indent // the column of what follows the sequence indicators
	for {
		// Sequence item indicators: "- " (possibly repeated).
		if len(t) >= 2 && t[0] == '-' && t[1] == ' ' {
			t = t[2:]
			col += 2
			continue
		}
		if len(t) == 1 && t[0] == '-' {
			return nil // "-" alone: an item whose content follows
		}
		break
	}
	if len(t) == 0 {
		return fmt.Errorf("%w: unexpected line at offset %d", errIndexNotCanonical, l.start)
	}
	item := col // the column a scalar sequence item's continuation must pass
	if col > l.indent {
		item = col - 2
	}
	// A key: plain, or quoted, followed by ':' then end of line or a space.
	if t[0] == '"' || t[0] == '\'' {
		rest, closed := indexCloseQuote(t[1:], t[0])
		if !closed {
			// A quoted scalar (a sequence item) that goes on over the next lines.
			lx.quote, lx.quoteIndent = t[0], item
			return nil
		}
		if len(rest) == 0 {
			return nil // a quoted sequence item
		}
		if rest[0] != ':' {
			return fmt.Errorf("%w: unexpected text after a quoted scalar at offset %d", errIndexNotCanonical, l.start)
		}
		t = rest[1:]
	} else {
		if err := indexPlainStart(t, l.start); err != nil {
			return err
		}
		colon := bytes.Index(t, []byte(": "))
		if colon < 0 {
			if t[len(t)-1] == ':' {
				return indexPlain(t[:len(t)-1], l.start) // "key:" with a nested block below
			}
			lx.plain = item
			return indexPlain(t, l.start) // a plain scalar sequence item
		}
		if err := indexPlain(t[:colon], l.start); err != nil {
			return err
		}
		t = t[colon+1:]
	}
	if len(t) == 0 {
		return nil
	}
	if t[0] != ' ' {
		return fmt.Errorf("%w: no space after ':' at offset %d", errIndexNotCanonical, l.start)
	}
	v := t[1:]
	if len(v) == 0 {
		return fmt.Errorf("%w: trailing space at offset %d", errIndexNotCanonical, l.start)
	}
	switch v[0] {
	case '"', '\'':
		rest, closed := indexCloseQuote(v[1:], v[0])
		if !closed {
			lx.quote, lx.quoteIndent = v[0], col
			return nil
		}
		return indexAfterScalar(rest)
	case '|', '>':
		h := v[1:]
		if len(h) > 0 && h[0] >= '1' && h[0] <= '9' {
			h = h[1:]
		}
		if len(h) > 0 && (h[0] == '-' || h[0] == '+') {
			h = h[1:]
		}
		if len(h) != 0 {
			return fmt.Errorf("%w: unexpected block scalar header at offset %d", errIndexNotCanonical, l.start)
		}
		lx.block = col
		return nil
	case '[', '{':
		if string(v) == "[]" || string(v) == "{}" {
			return nil
		}
		return fmt.Errorf("%w: a flow collection at offset %d", errIndexNotCanonical, l.start)
	}
	if err := indexPlainStart(v, l.start); err != nil {
		return err
	}
	lx.plain = col
	return indexPlain(v, l.start)
}

// indexPlainStart refuses plain scalars starting with a YAML indicator.
func indexPlainStart(t []byte, off int) error {
	switch t[0] {
	case '#', '&', '*', '!', '%', '@', '`', '?', '|', '>', '[', ']', '{', '}', ',', '"', '\'':
		return fmt.Errorf("%w: YAML indicator %q at offset %d", errIndexNotCanonical, t[0], off)
	case '-', ':':
		if len(t) == 1 || t[1] == ' ' {
			return fmt.Errorf("%w: YAML indicator %q at offset %d", errIndexNotCanonical, t[0], off)
		}
	}
	return nil
}

// indexPlain refuses a plain scalar with a comment or a nested mapping indicator.
func indexPlain(t []byte, off int) error {
	if bytes.Contains(t, []byte(" #")) || bytes.Contains(t, []byte(": ")) || bytes.IndexByte(t, '\t') >= 0 {
		return fmt.Errorf("%w: unexpected plain scalar at offset %d", errIndexNotCanonical, off)
	}
	if len(t) > 0 && (t[len(t)-1] == ' ' || t[len(t)-1] == ':') {
		return fmt.Errorf("%w: unexpected plain scalar at offset %d", errIndexNotCanonical, off)
	}
	return nil
}

// indexAfterScalar checks what follows a closed quoted value: nothing.
func indexAfterScalar(rest []byte) error {
	if len(rest) != 0 {
		return fmt.Errorf("%w: text after a quoted value", errIndexNotCanonical)
	}
	return nil
}

// indexCloseQuote scans t (after an opening quote q) for the closing quote and
// returns what follows it.
func indexCloseQuote(t []byte, q byte) ([]byte, bool) {
	for i := 0; i < len(t); i++ {
		switch {
		case q == '"' && t[i] == '\\':
			i++ // escaped character (or a line continuation at the end)
		case t[i] == q:
			if q == '\'' && i+1 < len(t) && t[i+1] == '\'' {
				i++ // '' is an escaped quote
				continue
			}
			return t[i+1:], true
		}
	}
	return nil, false
}

// indexScan checks that data is in helm's canonical layout and maps its charts.
func indexScan(data []byte) (*indexLayout, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", errIndexNotCanonical)
	}
	lay := &indexLayout{entriesStart: -1, generatedStart: -1}
	lx := newIndexLexer(data, 0)
	top := -1 // index into indexTopKeys of the current top-level key
	var names []string
	cur := -1 // current chart in lay.charts
	lastTop := ""
	for {
		l, ok, err := lx.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if !l.structural || len(l.text) == 0 {
			continue
		}
		switch {
		case l.indent == 0:
			key, rest, found := bytes.Cut(l.text, []byte(":"))
			if !found {
				return nil, fmt.Errorf("%w: unexpected top-level line at offset %d", errIndexNotCanonical, l.start)
			}
			k := -1
			for i, n := range indexTopKeys {
				if string(key) == n {
					k = i
				}
			}
			if k <= top {
				return nil, fmt.Errorf("%w: top-level key %q unknown or out of order", errIndexNotCanonical, key)
			}
			if lastTop == "entries" {
				lay.entriesEnd = l.start
				if cur >= 0 {
					lay.charts[cur].end = l.start
				}
			}
			top, lastTop = k, string(key)
			cur = -1
			switch string(key) {
			case "entries":
				lay.entriesStart = l.start
				switch string(rest) {
				case "":
				case " {}":
					lay.emptyEntries = true
				default:
					return nil, fmt.Errorf("%w: unexpected entries line", errIndexNotCanonical)
				}
			case "generated":
				if len(rest) == 0 {
					return nil, fmt.Errorf("%w: empty generated", errIndexNotCanonical)
				}
				lay.generatedStart, lay.generatedEnd = l.start, l.next
			}
		case lastTop != "entries":
			// Inside another top-level key: nothing to map.
		case l.indent == 2 && l.text[0] == '-' && len(l.text) > 1 && l.text[1] == ' ':
			if cur < 0 {
				return nil, fmt.Errorf("%w: an entry outside a chart at offset %d", errIndexNotCanonical, l.start)
			}
		case l.indent == 2:
			if lay.emptyEntries {
				return nil, fmt.Errorf("%w: content under `entries: {}`", errIndexNotCanonical)
			}
			if len(l.text) < 2 || l.text[len(l.text)-1] != ':' {
				return nil, fmt.Errorf("%w: unexpected chart line at offset %d", errIndexNotCanonical, l.start)
			}
			name, err := indexDecodeKey(l.text[:len(l.text)-1])
			if err != nil {
				return nil, err
			}
			if cur >= 0 {
				lay.charts[cur].end = l.start
			}
			lay.charts = append(lay.charts, indexChart{name: name, start: l.start})
			names = append(names, name)
			cur = len(lay.charts) - 1
		case l.indent >= 4:
			if cur < 0 {
				return nil, fmt.Errorf("%w: unexpected line at offset %d", errIndexNotCanonical, l.start)
			}
		default:
			return nil, fmt.Errorf("%w: odd indentation at offset %d", errIndexNotCanonical, l.start)
		}
	}
	if lx.quote != 0 {
		return nil, fmt.Errorf("%w: unterminated quoted scalar", errIndexNotCanonical)
	}
	if lastTop == "entries" {
		lay.entriesEnd = len(data)
	}
	if cur >= 0 && lay.charts[cur].end == 0 {
		lay.charts[cur].end = lay.entriesEnd
	}
	if lay.entriesStart < 0 || lay.generatedStart < 0 {
		return nil, fmt.Errorf("%w: no entries or generated key", errIndexNotCanonical)
	}
	if top < 0 || !indexHasAPIVersion(data, lay.entriesStart) {
		return nil, fmt.Errorf("%w: no apiVersion", errIndexNotCanonical)
	}
	// Chart names must be unique and in the order helm's writer puts them.
	sorted, err := indexKeyOrder(names)
	if err != nil {
		return nil, err
	}
	for i := range names {
		if sorted[i] != names[i] {
			return nil, fmt.Errorf("%w: charts out of order or repeated near %q", errIndexNotCanonical, names[i])
		}
	}
	// Every chart has at least one entry.
	for _, c := range lay.charts {
		nl := bytes.IndexByte(data[c.start:c.end], '\n')
		if c.start+nl+1 >= c.end || !bytes.HasPrefix(data[c.start+nl+1:], []byte("  - ")) {
			return nil, fmt.Errorf("%w: chart %q has no entries", errIndexNotCanonical, c.name)
		}
	}
	return lay, nil
}

func indexHasAPIVersion(data []byte, before int) bool {
	return bytes.HasPrefix(data, []byte("apiVersion: ")) || bytes.Contains(data[:before], []byte("\napiVersion: "))
}

// indexDecodeKey decodes a chart name key as YAML would, and requires helm's
// writer to spell it the same way.
func indexDecodeKey(raw []byte) (string, error) {
	plain := len(raw) > 0
	for _, c := range raw {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/') {
			plain = false
			break
		}
	}
	if plain && (raw[0] >= 'a' && raw[0] <= 'z' || raw[0] >= 'A' && raw[0] <= 'Z') && !indexYAMLWord(string(raw)) {
		return string(raw), nil
	}
	// Anything else: let the YAML library decode it and check it round-trips.
	var m map[string]int
	if err := yaml.Unmarshal(append(append([]byte{}, raw...), ": 0"...), &m); err != nil || len(m) != 1 {
		return "", fmt.Errorf("%w: chart key %q", errIndexNotCanonical, raw)
	}
	for k := range m {
		out, err := yaml.Marshal(map[string]int{k: 0})
		if err != nil || string(out) != string(raw)+": 0\n" {
			return "", fmt.Errorf("%w: chart key %q is not spelled as helm writes it", errIndexNotCanonical, raw)
		}
		return k, nil
	}
	return "", nil
}

// indexYAMLWord reports plain words YAML 1.1 reads as something other than a string.
func indexYAMLWord(s string) bool {
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf":
		return true
	}
	return false
}

// indexKeyOrder returns names in the order helm's writer (sigs.k8s.io/yaml over
// go-yaml v2) emits mapping keys. It asks the writer itself, so it can never
// disagree with it. Repeated names are an error.
func indexKeyOrder(names []string) ([]string, error) {
	m := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := m[n]; dup {
			return nil, fmt.Errorf("%w: chart %q appears twice", errIndexNotCanonical, n)
		}
		m[n] = i
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	order := make([]string, 0, len(names))
	for line := range bytes.SplitSeq(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		sp := bytes.LastIndex(line, []byte(": "))
		if sp < 0 {
			return nil, fmt.Errorf("%w: chart names helm can't write one per line", errIndexNotCanonical)
		}
		i, err := strconv.Atoi(string(line[sp+2:]))
		if err != nil || i < 0 || i >= len(names) {
			return nil, fmt.Errorf("%w: chart names helm can't write one per line", errIndexNotCanonical)
		}
		order = append(order, names[i])
	}
	if len(order) != len(names) {
		return nil, fmt.Errorf("%w: chart names helm can't write one per line", errIndexNotCanonical)
	}
	return order, nil
}

// indexEntries lists the entries of one chart block.
func indexEntries(data []byte, c indexChart) ([]indexEntryLoc, error) {
	var out []indexEntryLoc
	lx := newIndexLexer(data[:c.end], c.start)
	for {
		l, ok, err := lx.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if !l.structural {
			continue
		}
		t := l.text
		if l.indent == 2 && bytes.HasPrefix(t, []byte("- ")) {
			out = append(out, indexEntryLoc{start: l.start})
			t = t[2:]
		} else if l.indent != 4 {
			continue
		}
		if len(out) == 0 {
			continue
		}
		e := &out[len(out)-1]
		for _, f := range []struct {
			key string
			dst *string
		}{{"version: ", &e.version}, {"digest: ", &e.digest}} {
			if bytes.HasPrefix(t, []byte(f.key)) {
				v, err := indexScalar(t)
				if err != nil {
					return nil, err
				}
				*f.dst = v
			}
		}
	}
	return out, nil
}

// indexScalar decodes the value of a one-line "key: value".
func indexScalar(line []byte) (string, error) {
	_, v, _ := bytes.Cut(line, []byte(": "))
	if len(v) > 0 && v[0] != '"' && v[0] != '\'' {
		return string(v), nil
	}
	var m map[string]string
	if err := yaml.Unmarshal(line, &m); err != nil || len(m) != 1 {
		return "", fmt.Errorf("%w: can't read %q", errIndexNotCanonical, line)
	}
	for _, s := range m {
		return s, nil
	}
	return "", nil
}

// NewEntry is the entry helm's `repo index` writes for a package: its
// Chart.yaml, the URL of the archive under baseURL, the digest and the time.
func NewEntry(md *helmchart.Metadata, baseURL, digestHex string, created time.Time) (*repo.ChartVersion, error) {
	m := *md
	if m.APIVersion == "" {
		m.APIVersion = helmchart.APIVersionV1
	}
	file := m.Name + "-" + m.Version + ".tgz"
	u := file
	if baseURL != "" {
		var err error
		if u, err = URLJoin(baseURL, file); err != nil {
			return nil, err
		}
	}
	return &repo.ChartVersion{Metadata: &m, URLs: []string{u}, Digest: digestHex, Created: created}, nil
}

// indexRender writes the chart key line and the entry exactly as helm's writer
// would inside `entries:`.
func indexRender(cv *repo.ChartVersion) (keyLine, entry []byte, err error) {
	out, err := yaml.Marshal(map[string]any{"entries": map[string]any{cv.Name: []*repo.ChartVersion{cv}}})
	if err != nil {
		return nil, nil, fmt.Errorf("rendering the index entry for %s %s: %w", cv.Name, cv.Version, err)
	}
	body, ok := bytes.CutPrefix(out, []byte("entries:\n"))
	nl := bytes.IndexByte(body, '\n')
	if !ok || nl < 0 {
		return nil, nil, fmt.Errorf("rendering the index entry for %s %s: unexpected output", cv.Name, cv.Version)
	}
	return body[:nl+1], body[nl+1:], nil
}

// indexGeneratedLine is the `generated:` line helm writes for t.
func indexGeneratedLine(t time.Time) ([]byte, error) {
	return yaml.Marshal(map[string]any{"generated": t})
}

// AddResult says what Add did.
type AddResult struct {
	Present bool   // the same version with the same digest was already there
	Note    string // set when helm's merge was used instead of the splice
}

// indexDuplicateError is a catalog that lists one version twice.
func indexDuplicateError(name, version string) error {
	return errdef.Check(fmt.Errorf("index.yaml lists %s %s more than once; the catalog is damaged: remove the duplicate entry by hand, then publish again", name, version))
}

// indexConflictError is a version already released with other bytes.
func indexConflictError(name, version, have, want string) error {
	return errdef.Check(fmt.Errorf("%s %s: %w (catalog digest %s, package digest %s); released versions are immutable: bump the chart version", name, version, catalogdef.ErrConflict, have, want))
}

// indexInsert adds cv to the canonical index in old and refreshes generated.
// When old holds the same name and version, it returns present (same digest) or
// an catalogdef.ErrConflict (different digest) and old unchanged.
func indexInsert(old []byte, cv *repo.ChartVersion, now time.Time) ([]byte, AddResult, error) {
	lay, err := indexScan(old)
	if err != nil {
		return nil, AddResult{}, err
	}
	keyLine, entry, err := indexRender(cv)
	if err != nil {
		return nil, AddResult{}, err
	}
	gen, err := indexGeneratedLine(now)
	if err != nil {
		return nil, AddResult{}, err
	}
	var at int
	var ins []byte
	found := -1
	for i, c := range lay.charts {
		if c.name == cv.Name {
			found = i
			break
		}
	}
	switch {
	case found >= 0:
		c := lay.charts[found]
		locs, err := indexEntries(old, c)
		if err != nil {
			return nil, AddResult{}, err
		}
		same := -1
		for i, l := range locs {
			if l.version != cv.Version {
				continue
			}
			if same >= 0 {
				return nil, AddResult{}, indexDuplicateError(cv.Name, cv.Version)
			}
			same = i
		}
		if same >= 0 {
			if locs[same].digest == cv.Digest {
				return old, AddResult{Present: true}, nil
			}
			return nil, AddResult{}, indexConflictError(cv.Name, cv.Version, locs[same].digest, cv.Digest)
		}
		pos, err := indexVersionSlot(locs, cv.Version)
		if err != nil {
			return nil, AddResult{}, err
		}
		if pos < len(locs) {
			at = locs[pos].start
		} else {
			at = c.end
		}
		ins = entry
	case lay.emptyEntries:
		nl := bytes.IndexByte(old[lay.entriesStart:], '\n')
		var b bytes.Buffer
		b.Grow(len(old) + len(keyLine) + len(entry) + 16)
		b.Write(old[:lay.entriesStart])
		b.WriteString("entries:\n")
		b.Write(keyLine)
		b.Write(entry)
		b.Write(old[lay.entriesStart+nl+1 : lay.generatedStart])
		b.Write(gen)
		b.Write(old[lay.generatedEnd:])
		return b.Bytes(), AddResult{}, nil
	default:
		names := make([]string, 0, len(lay.charts)+1)
		for _, c := range lay.charts {
			names = append(names, c.name)
		}
		order, err := indexKeyOrder(append(names, cv.Name))
		if err != nil {
			return nil, AddResult{}, err
		}
		k := 0
		for order[k] != cv.Name {
			k++
		}
		// The others must keep their order around the new name.
		for i, j := 0, 0; i < len(order); i++ {
			if i == k {
				continue
			}
			if order[i] != names[j] {
				return nil, AddResult{}, fmt.Errorf("%w: chart order changes with %q", errIndexNotCanonical, cv.Name)
			}
			j++
		}
		if k < len(lay.charts) {
			at = lay.charts[k].start
		} else {
			at = lay.entriesEnd
		}
		ins = append(append([]byte{}, keyLine...), entry...)
	}
	if at > lay.generatedStart {
		return nil, AddResult{}, fmt.Errorf("%w: generated before entries", errIndexNotCanonical)
	}
	out := make([]byte, 0, len(old)+len(ins)+len(gen))
	out = append(out, old[:at]...)
	out = append(out, ins...)
	out = append(out, old[at:lay.generatedStart]...)
	out = append(out, gen...)
	out = append(out, old[lay.generatedEnd:]...)
	return out, AddResult{}, nil
}

// indexVersionSlot returns where helm's SortEntries puts version among the
// chart's existing entries (newest first): the index of the entry it goes
// before, or len(locs) for the end. It runs helm's own sort, on the versions
// only, over the list helm's merge builds (the new entry first, then the old).
func indexVersionSlot(locs []indexEntryLoc, version string) (int, error) {
	cvs := make(repo.ChartVersions, 0, len(locs)+1)
	idx := make(map[*repo.ChartVersion]int, len(locs)+1)
	add := func(v string, i int) {
		cv := &repo.ChartVersion{Metadata: &helmchart.Metadata{Version: v}}
		idx[cv] = i
		cvs = append(cvs, cv)
	}
	add(version, -1)
	for i, l := range locs {
		add(l.version, i)
	}
	sort.Sort(sort.Reverse(cvs))
	// The old entries must already be in helm's order; else this is no canonical file.
	pos, j := -1, 0
	for k, cv := range cvs {
		i := idx[cv]
		if i < 0 {
			pos = k
			continue
		}
		if i != j {
			return 0, fmt.Errorf("%w: versions of %s are not in helm's order", errIndexNotCanonical, "this chart")
		}
		j++
	}
	return pos, nil
}

// indexMergeHelm is helm's own `repo index --merge` of one new entry into the
// index at path (which may be missing): load, merge, sort, write.
func indexMergeHelm(path string, cv *repo.ChartVersion, now time.Time) ([]byte, AddResult, error) {
	old := repo.NewIndexFile()
	if _, err := os.Stat(path); err == nil {
		old, err = repo.LoadIndexFile(path)
		if err != nil {
			return nil, AddResult{}, errdef.Check(fmt.Errorf("index.yaml of the catalog is not a valid Helm index: %w; repair it (helm repo index) before publishing", err))
		}
	}
	var same []*repo.ChartVersion
	for _, e := range old.Entries[cv.Name] {
		if e.Version == cv.Version {
			same = append(same, e)
		}
	}
	switch {
	case len(same) > 1:
		return nil, AddResult{}, indexDuplicateError(cv.Name, cv.Version)
	case len(same) == 1 && same[0].Digest == cv.Digest:
		return nil, AddResult{Present: true}, nil
	case len(same) == 1:
		return nil, AddResult{}, indexConflictError(cv.Name, cv.Version, same[0].Digest, cv.Digest)
	}
	i := repo.NewIndexFile()
	i.Generated = now
	i.Entries[cv.Name] = repo.ChartVersions{cv}
	i.Merge(old)
	i.SortEntries()
	tmp := filepath.Join(filepath.Dir(path), ".index-merge.yaml")
	if err := i.WriteFile(tmp, 0o644); err != nil {
		return nil, AddResult{}, fmt.Errorf("writing index.yaml: %w", err)
	}
	defer os.Remove(tmp)
	out, err := os.ReadFile(tmp)
	return out, AddResult{}, err
}

// MaxSize is the largest index.yaml chartship reads: 32 times the largest real
// catalog it knows (Giant Swarm's control-plane catalog, 4 MB with 5,000
// entries). Past it an index is refused before it is parsed, rather than
// exhausting a CI job's memory: helm keeps the whole index in memory too, for
// every client of the catalog.
const MaxSize = 128 << 20

// maxSize is MaxSize; tests lower it.
var maxSize int64 = MaxSize

// TooLarge is the error for an index.yaml over limit bytes, of size bytes
// (0: unknown, the read stopped at the limit), with what to do (hint; ""
// means pruning it with chartship): a check failure (exit 2).
func TooLarge(size, limit int64, hint string) error {
	if hint == "" {
		hint = "remove old versions (chartship catalog prune --match REGEXP --older-than AGE, which still reads it) or split the catalog"
	}
	what := "over"
	if size > 0 {
		what = mib(size) + ", over"
	}
	return errdef.Check(fmt.Errorf("index.yaml is %s the %s chartship reads: %s", what, mib(limit), hint))
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// Add adds cv to the index.yaml at path (created when missing): the splice
// when the file is canonical, helm's merge otherwise (said in the note). It
// returns the new content; the caller writes it. An index over MaxSize is
// refused (TooLarge) before it is read.
func Add(path string, cv *repo.ChartVersion, now time.Time) ([]byte, AddResult, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > maxSize {
		return nil, AddResult{}, TooLarge(st.Size(), maxSize, "")
	}
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		out, res, err := indexMergeHelm(path, cv, now)
		res.Note = "the catalog had no index.yaml; created one"
		return out, res, err
	}
	if err != nil {
		return nil, AddResult{}, fmt.Errorf("reading index.yaml: %w", err)
	}
	out, res, err := indexInsert(old, cv, now)
	if errors.Is(err, errIndexNotCanonical) {
		reason := err.Error()
		out, res, err = indexMergeHelm(path, cv, now)
		res.Note = "index.yaml was not in helm's canonical layout (" + reason + "); rewrote it with helm's merge"
		return out, res, err
	}
	return out, res, err
}

// URLJoin joins a file name to a base URL as helm's repo index does.
func URLJoin(base, file string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", errdef.Usage(fmt.Errorf("index URL %q: %w", base, err))
	}
	u.Path = path.Join(u.Path, file)
	return u.String(), nil
}

// Entry is one version a chart's index entries list.
type Entry struct {
	Version string
	Digest  string // hex sha256 of the archive, as the index lists it
}

// Entries lists a chart's entries in index order: the line scan on a canonical
// file, helm's loader otherwise. A chart the index doesn't list has none. An
// index over MaxSize is refused (TooLarge).
func Entries(data []byte, name string) ([]Entry, error) {
	if int64(len(data)) > maxSize {
		return nil, TooLarge(int64(len(data)), maxSize, "")
	}
	var out []Entry
	if lay, err := indexScan(data); err == nil {
		for _, c := range lay.charts {
			if c.name != name {
				continue
			}
			locs, err := indexEntries(data, c)
			if err != nil {
				return nil, err
			}
			for _, l := range locs {
				out = append(out, Entry{Version: l.version, Digest: l.digest})
			}
		}
		return out, nil
	}
	var i repo.IndexFile
	if err := yaml.Unmarshal(data, &i); err != nil {
		return nil, errdef.Check(fmt.Errorf("index.yaml is not a valid Helm index: %w", err))
	}
	for _, e := range i.Entries[name] {
		if e != nil && e.Metadata != nil {
			out = append(out, Entry{Version: e.Version, Digest: e.Digest})
		}
	}
	return out, nil
}
