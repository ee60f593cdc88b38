package gitops

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	yaml "go.yaml.in/yaml/v3"
)

// Problem is bad input found in one file: it is reported with its line and the
// file is left untouched; other files are still processed.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return p.File + ": " + p.Message
}

// Kinds of version references.
const (
	KindApp           = "App"           // application.giantswarm.io App: spec.version
	KindHelmRelease   = "HelmRelease"   // helm.toolkit.fluxcd.io: spec.chart.spec.version
	KindOCIRepository = "OCIRepository" // source.toolkit.fluxcd.io: spec.ref.tag / spec.ref.semver
	KindMarker        = "marker"        // any scalar with a $imagepolicy setter comment
)

// ref is one version reference found in a file.
type ref struct {
	file        string
	kind        string // Kind*
	object      string // "App default/hello" (empty for a bare marker)
	field       string // spec.version …
	node        *yaml.Node
	marker      *Marker
	markerLine  int
	name        string     // chart/app name as written: App spec.name, HelmRelease chart, OCI URL's last element
	catalog     string     // App spec.catalog
	source      string     // HelmRelease sourceRef "Kind/ns/name"
	url         string     // OCIRepository spec.url
	isRange     bool       // the value is a range Flux follows in the cluster (OCIRepository spec.ref.semver, HelmRelease version range)
	block       *yaml.Node // for a marker inside a literal block (inline kustomize patch): the block scalar
	blockLine   int        // line and column of the scalar within the block's text
	blockColumn int
	blockIndent int
	oci         *ociRef // OCIRepository spec.ref beyond the version field
}

// ociRef is what an OCIRepository's spec.ref says besides the field a ref
// points at: source-controller takes digest over semver over tag.
type ociRef struct {
	semver, filter, tag, digest string
	filterLine, digestLine      int
	digestNode                  *yaml.Node
}

// ociObject is an OCIRepository of the repository, any chart: chartRefs are
// checked against them.
type ociObject struct {
	namespace, name, url string
	file                 string
	line                 int
}

// chartRef is a HelmRelease's spec.chartRef (helm-controller: a HelmRelease
// that installs whatever the OCIRepository resolves).
type chartRef struct {
	object         string // "HelmRelease ns/name"
	kind, ns, name string
	file           string
	line           int
}

// fluxReceiver is a notification-controller Receiver and the objects it
// reconciles when called.
type fluxReceiver struct {
	namespace, name string
	resources       []fluxReceiverResource
	file            string
	line            int
}

type fluxReceiverResource struct{ kind, namespace, name string }

type imagePolicy struct {
	namespace, name  string
	repoNS, repoName string
	policy           Policy
	digestReflection string // spec.digestReflectionPolicy: Never (default), IfNotPresent, Always
	compiled         *compiledPolicy
	compileErr       error
	file             string
	line             int
}

type imageRepository struct {
	namespace, name, image string
	file                   string
	line                   int
}

// fileScan is what one file holds.
type fileScan struct {
	path     string // slash-separated, relative to the repository root
	src      []byte
	lines    []int
	refs     []ref
	policies []imagePolicy
	repos    []imageRepository
	ocis     []ociObject
	charts   []chartRef
	recvs    []fluxReceiver
	problems []Problem
	docs     int // number of YAML documents

	strategicMerge *yaml.Node // the patchesStrategicMerge list being walked
}

// interesting reports cheaply whether a file can hold anything we look for, so
// that most files of a big repository are never parsed.
func interesting(src []byte) bool {
	if bytes.Contains(src, []byte(markerKey)) {
		return true
	}
	for i := 0; ; {
		j := bytes.Index(src[i:], []byte("kind"))
		if j < 0 {
			return false
		}
		i += j + 4
		k := i
		for k < len(src) && (src[k] == '"' || src[k] == '\'' || src[k] == ' ' || src[k] == '\t') {
			k++
		}
		if k >= len(src) || src[k] != ':' {
			continue
		}
		k++
		for k < len(src) && (src[k] == '"' || src[k] == '\'' || src[k] == ' ' || src[k] == '\t') {
			k++
		}
		e := k
		for e < len(src) && (src[e] >= 'A' && src[e] <= 'Z' || src[e] >= 'a' && src[e] <= 'z') {
			e++
		}
		switch string(src[k:e]) {
		case KindApp, KindHelmRelease, KindOCIRepository, "ImagePolicy", "ImageRepository", "Receiver":
			return true
		}
	}
}

// scanTree reads, in parallel, every file under root that Flux's
// image-automation-controller reads (its ScreeningLocalReader): *.yaml,
// *.yml and files named Kustomization, in any directory but .git (hidden
// ones like .github included).
func scanTree(ctx context.Context, root string, workers int) ([]*fileScan, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); (ext == ".yaml" || ext == ".yml" || d.Name() == "Kustomization") && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0) * 2
	}
	results := make([]*fileScan, len(paths))
	// Each worker reuses one buffer: most files are only screened.
	parallel(ctx, len(paths), workers, func() []byte { return make([]byte, 0, 64<<10) }, func(buf []byte, i int) []byte {
		rel, _ := filepath.Rel(root, paths[i])
		rel = filepath.ToSlash(rel)
		var err error
		buf, err = readInto(buf[:0], paths[i])
		if err != nil {
			results[i] = &fileScan{path: rel, problems: []Problem{{File: rel, Message: fmt.Sprintf("cannot read: %v", err)}}}
			return buf
		}
		if interesting(buf) {
			results[i] = scanFile(rel, bytes.Clone(buf))
		}
		return buf
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := results[:0]
	for _, r := range results {
		if r != nil {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// readInto reads the file at path into buf, growing it as needed.
func readInto(buf []byte, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

var yamlErrLine = regexp.MustCompile(`line (\d+): `)

var parserErrors = []string{"did not find expected <document start>", "did not find expected node content",
	"did not find expected key", "did not find expected '-' indicator", "did not find expected ',' or ']'",
	"did not find expected ',' or '}'", "found duplicate %YAML directive", "found incompatible YAML document"}

// scanFile parses one YAML stream and collects references, policies and
// repositories. A file that does not parse yields one problem and nothing else.
func scanFile(path string, src []byte) *fileScan {
	fsn := &fileScan{path: path, src: src}
	docs, err := parseDocs(src)
	if err != nil {
		line := 0
		if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			// yaml.v3 reports parser (not scanner) errors on the 0-based line.
			for _, msg := range parserErrors {
				if strings.Contains(err.Error(), msg) {
					line++
					break
				}
			}
		}
		fsn.problems = append(fsn.problems, Problem{File: path, Line: line, Message: "not valid YAML, left untouched: " + yamlErrLine.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "")})
		return fsn
	}
	fsn.lines = lineStarts(src)
	fsn.docs = len(docs)
	for _, d := range docs {
		if len(d.Content) == 0 {
			continue
		}
		fsn.scanDoc(d.Content[0])
	}
	return fsn
}

func (f *fileScan) scanDoc(root *yaml.Node) {
	seen := map[*yaml.Node]int{} // version node → index in f.refs
	if root.Kind == yaml.MappingNode {
		kind := scalar(get(root, "kind"))
		api := scalar(get(root, "apiVersion"))
		ns, name := scalar(get(root, "metadata", "namespace")), scalar(get(root, "metadata", "name"))
		object := fmt.Sprintf("%s %s", kind, qualified(ns, name))
		switch {
		case kind == KindApp && apiGroup(api, "application.giantswarm.io"):
			if v := get(root, "spec", "version"); isScalar(v) {
				seen[v] = len(f.refs)
				f.refs = append(f.refs, ref{kind: KindApp, object: object, field: "spec.version", node: v,
					name: scalar(get(root, "spec", "name")), catalog: scalar(get(root, "spec", "catalog"))})
			}
		case kind == KindHelmRelease && apiGroup(api, "helm.toolkit.fluxcd.io"):
			if cr := get(root, "spec", "chartRef"); cr != nil && cr.Kind == yaml.MappingNode {
				c := chartRef{object: object, kind: scalar(get(cr, "kind")), ns: scalar(get(cr, "namespace")), name: scalar(get(cr, "name")), file: f.path, line: cr.Line}
				if c.ns == "" {
					c.ns = ns
				}
				f.charts = append(f.charts, c)
			}
			if v := get(root, "spec", "chart", "spec", "version"); isScalar(v) {
				src := get(root, "spec", "chart", "spec", "sourceRef")
				srcNS := scalar(get(src, "namespace"))
				if srcNS == "" {
					srcNS = ns
				}
				seen[v] = len(f.refs)
				_, rangeErr := parseFluxVersion(v.Value)
				f.refs = append(f.refs, ref{kind: KindHelmRelease, object: object, field: "spec.chart.spec.version", node: v,
					name:    scalar(get(root, "spec", "chart", "spec", "chart")),
					source:  scalar(get(src, "kind")) + "/" + qualified(srcNS, scalar(get(src, "name"))),
					isRange: rangeErr != nil})
			}
		case kind == KindOCIRepository && apiGroup(api, "source.toolkit.fluxcd.io"):
			url := scalar(get(root, "spec", "url"))
			f.ocis = append(f.ocis, ociObject{namespace: ns, name: name, url: url, file: f.path, line: root.Line})
			o := &ociRef{semver: scalar(get(root, "spec", "ref", "semver")), filter: scalar(get(root, "spec", "ref", "semverFilter")),
				tag: scalar(get(root, "spec", "ref", "tag")), digest: scalar(get(root, "spec", "ref", "digest"))}
			if n := get(root, "spec", "ref", "semverFilter"); n != nil {
				o.filterLine = n.Line
			}
			if n := get(root, "spec", "ref", "digest"); isScalar(n) {
				o.digestLine, o.digestNode = n.Line, n
			}
			for _, fld := range []string{"semver", "tag", "digest"} {
				if v := get(root, "spec", "ref", fld); isScalar(v) {
					seen[v] = len(f.refs)
					f.refs = append(f.refs, ref{kind: KindOCIRepository, object: object, field: "spec.ref." + fld, node: v,
						name: lastElem(url), url: url, isRange: fld == "semver", oci: o})
					break
				}
			}
			if get(root, "spec", "ref") == nil { // no ref: Flux pulls "latest"
				f.refs = append(f.refs, ref{kind: KindOCIRepository, object: object, field: "spec.ref", node: &yaml.Node{Kind: yaml.ScalarNode, Line: root.Line},
					name: lastElem(url), url: url, oci: o})
			}
		case kind == "ImagePolicy" && apiGroup(api, "image.toolkit.fluxcd.io"):
			p := imagePolicy{namespace: ns, name: name, file: f.path, line: root.Line,
				repoName: scalar(get(root, "spec", "imageRepositoryRef", "name")),
				repoNS:   scalar(get(root, "spec", "imageRepositoryRef", "namespace"))}
			if p.repoNS == "" {
				p.repoNS = ns
			}
			p.digestReflection = scalar(get(root, "spec", "digestReflectionPolicy"))
			p.policy = Policy{
				Source:        fmt.Sprintf("ImagePolicy %s (%s:%d)", qualified(ns, name), f.path, root.Line),
				SemVer:        scalar(get(root, "spec", "policy", "semver", "range")),
				FilterPattern: scalar(get(root, "spec", "filterTags", "pattern")),
				FilterExtract: scalar(get(root, "spec", "filterTags", "extract")),
			}
			if a := get(root, "spec", "policy", "alphabetical"); a != nil {
				p.policy.Alphabetical = orDefault(scalar(get(a, "order")), "asc")
			}
			if a := get(root, "spec", "policy", "numerical"); a != nil {
				p.policy.Numerical = orDefault(scalar(get(a, "order")), "asc")
			}
			if err := p.policy.Validate(); err != nil {
				line := root.Line
				if r := get(root, "spec", "policy", "semver", "range"); r != nil {
					line = r.Line
				} else if r := get(root, "spec", "policy"); r != nil {
					line = r.Line
				}
				f.problems = append(f.problems, Problem{File: f.path, Line: line, Message: err.Error()})
			}
			f.policies = append(f.policies, p)
		case kind == "Receiver" && apiGroup(api, "notification.toolkit.fluxcd.io"):
			rc := fluxReceiver{namespace: ns, name: name, file: f.path, line: root.Line}
			if res := get(root, "spec", "resources"); res != nil && res.Kind == yaml.SequenceNode {
				for _, it := range res.Content {
					rr := fluxReceiverResource{kind: scalar(get(it, "kind")), namespace: scalar(get(it, "namespace")), name: scalar(get(it, "name"))}
					if rr.namespace == "" {
						rr.namespace = ns
					}
					rc.resources = append(rc.resources, rr)
				}
			}
			f.recvs = append(f.recvs, rc)
		case kind == "ImageRepository" && apiGroup(api, "image.toolkit.fluxcd.io"):
			f.repos = append(f.repos, imageRepository{namespace: ns, name: name, file: f.path, line: root.Line,
				image: scalar(get(root, "spec", "image"))})
		}
	}
	f.scanMarkers(root, seen, nil, 0)
}

// scanMarkers finds every scalar carrying a $imagepolicy line comment. Inside a
// literal block scalar that is itself YAML (an inline kustomize patch) it
// looks for markers in the block's text too.
func (f *fileScan) scanMarkers(n *yaml.Node, seen map[*yaml.Node]int, block *yaml.Node, indent int) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		if strings.Contains(n.LineComment, markerKey) {
			m, ok, err := ParseMarker(n.LineComment)
			line := n.Line
			if block != nil {
				line = block.Line + n.Line
			}
			switch {
			case err != nil:
				f.problems = append(f.problems, Problem{File: f.path, Line: line, Message: err.Error()})
			case ok:
				if i, dup := seen[n]; dup && block == nil {
					f.refs[i].marker, f.refs[i].markerLine = &m, line
				} else {
					r := ref{kind: KindMarker, node: n, marker: &m, markerLine: line, field: "value"}
					if block != nil {
						r.block, r.blockLine, r.blockColumn, r.blockIndent = block, n.Line, n.Column, indent
					}
					f.refs = append(f.refs, r)
				}
			}
		}
		return
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 1 && n.Content[i-1].Value == "patchesStrategicMerge" && c.Kind == yaml.SequenceNode {
			f.strategicMerge = c
		}
		f.scanMarkers(c, seen, block, indent)
		// Inline kustomize patches: patches[].patch, patchesJson6902[].patch and
		// patchesStrategicMerge[] items written as literal blocks.
		if block == nil && c.Kind == yaml.ScalarNode && c.Style&yaml.LiteralStyle != 0 && strings.Contains(c.Value, markerKey) &&
			((n.Kind == yaml.MappingNode && i%2 == 1 && n.Content[i-1].Value == "patch") || n == f.strategicMerge) {
			f.scanBlock(c)
		}
	}
}

// scanBlock looks for markers in a literal block scalar that holds YAML.
func (f *fileScan) scanBlock(n *yaml.Node) {
	indent, ok := blockIndent(f.src, f.lines, n)
	if !ok {
		return
	}
	docs, err := parseDocs([]byte(n.Value))
	if err != nil {
		return
	}
	for _, d := range docs {
		f.scanMarkers(d, map[*yaml.Node]int{}, n, indent)
	}
}

// blockIndent returns the indentation of a literal block scalar's content: the
// leading spaces of its first non-empty line, which must be consistent with
// every content line mapping one-to-one to the block's text.
func blockIndent(src []byte, lines []int, n *yaml.Node) (int, bool) {
	first := n.Line // content starts on the line after the indicator
	if first >= len(lines) {
		return 0, false
	}
	for l := first; l < len(lines); l++ {
		start, end := lines[l], len(src)
		if l+1 < len(lines) {
			end = lines[l+1]
		}
		line := strings.TrimRight(string(src[start:end]), "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		return len(line) - len(strings.TrimLeft(line, " ")), true
	}
	return 0, false
}

func get(n *yaml.Node, path ...string) *yaml.Node {
	n = deref(n)
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = deref(next)
	}
	return n
}

// deref follows an alias (*name) to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isScalar(n *yaml.Node) bool { return n != nil && n.Kind == yaml.ScalarNode }

func scalar(n *yaml.Node) string {
	if isScalar(n) {
		return n.Value
	}
	return ""
}

func apiGroup(api, group string) bool { return api == "" || strings.HasPrefix(api, group+"/") }

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// lastElem returns the last path element of a URL or image reference, without
// a tag: "oci://ghcr.io/org/charts/hello" → "hello".
func lastElem(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, ":@"); i >= 0 {
		s = s[:i]
	}
	return s
}

// parallel runs job for every index in [0, n) on workers goroutines, stopping
// early when ctx is done. Each goroutine makes its own scratch state with start
// and threads it through its jobs.
func parallel[S any](ctx context.Context, n, workers int, start func() S, job func(state S, i int) S) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			state := start()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				state = job(state, i)
			}
		}()
	}
	wg.Wait()
}
