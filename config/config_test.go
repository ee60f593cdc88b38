package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/chartship/chartship/internal/errdef"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("schema.json", doc))
	s, err := c.Compile("schema.json")
	require.NoError(t, err)
	return s
}

func validateSchema(t *testing.T, s *jsonschema.Schema, doc string) error {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	require.NoError(t, err)
	if inst == nil {
		inst = map[string]any{}
	}
	return s.Validate(inst)
}

func TestUnknownKeysNameTheirLine(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"# setup\ncatalgos:\n  - name: x\n    oci: oci://r/x\n", `.chartship.yaml:2: unknown key "catalgos"; did you mean catalogs? (known here: bump, catalogs, commits,`},
		{"upgradeTest:\n  kind:\n    nodeimage: kindest/node:v1.37.2\n", `.chartship.yaml:3: unknown key "nodeimage"; did you mean nodeImage? (known here: keepCluster, loadImages, name, nodeImage)`},
		{"catalogs:\n  - name: x\n    oci: oci://r/x\n    tst: true\n", `.chartship.yaml:4: unknown key "tst"; did you mean test?`},
		{"registry:\n  plainHTTP: maybe\n", `.chartship.yaml:2: cannot unmarshal !!str ` + "`maybe`" + ` into bool`},
		{"catalogs: [\n", ".chartship.yaml:1: did not find expected node content: fix the YAML"},
	} {
		_, err := Parse([]byte(tc.doc), ".chartship.yaml")
		require.Error(t, err, tc.doc)
		assert.ErrorIs(t, err, errdef.ErrUsage)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestLoadFindsAndResolvesPaths(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, FileName), []byte("registry: {caFile: certs/ca.pem}\n"), 0o644))
	sub := filepath.Join(root, "helm", "hello")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	f, err := Find(sub)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "certs", "ca.pem"), f.Path(f.Registry.CAFile))
	f, err = Load(t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, &File{}, f, "no file: the zero File")

	// Above the work tree's root nothing is read.
	outer := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outer, FileName), []byte("catalogs: [{name: x, oci: 'oci://r/x'}]\n"), 0o644))
	inner := filepath.Join(outer, "repo")
	require.NoError(t, os.MkdirAll(filepath.Join(inner, ".git"), 0o755))
	f, err = Find(inner)
	require.NoError(t, err)
	assert.Empty(t, f.Catalogs)
}

// Bad values are refused by Parse and by the schema alike.
func TestInvalidValues(t *testing.T) {
	s := compileSchema(t)
	for _, doc := range []string{
		"upgradeTest: {cluster: minikube}\n",
		"upgradeTest: {breaking: sometimes}\n",
		"upgradeTest: {timeout: 5 minutes}\n",
		"registry: {timeout: soon}\n",
		"registry: {retries: -1}\n",
		"stages: [package, upgrade-test]\n",
		"stages: [package, publish, deploy]\n",
		"catalogs: [{name: x, git: https://github.com/a/b.git}]\n",
		"catalogs: [{name: x, oci: oci://r/x, git: git+https://h/a.git}]\n",
		"catalogs: [{name: Big, oci: oci://r/x}]\n",
		"commits: {author: {name: Bot}}\n",
	} {
		_, err := Parse([]byte(doc), FileName)
		assert.Error(t, err, "Parse: %s", doc)
		assert.Error(t, validateSchema(t, s, doc), "schema: %s", doc)
	}
}

// schemaKeys lists the key paths of a schema object ("upgradeTest.kind.name").
func schemaKeys(node map[string]any, prefix string, out *[]string) {
	props, _ := node["properties"].(map[string]any)
	if items, ok := node["items"].(map[string]any); ok && props == nil {
		props, _ = items["properties"].(map[string]any)
	}
	for k, v := range props {
		path := prefix + k
		*out = append(*out, path)
		schemaKeys(v.(map[string]any), path+".", out)
	}
}

// structKeys lists the key paths of a File section type.
func structKeys(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if k == "" || k == "-" {
			continue
		}
		*out = append(*out, prefix+k)
		structKeys(t.Field(i).Type, prefix+k+".", out)
	}
}

// TestSchemaDescribesTheFile: schema.json and the File type have the same keys, and
// every object in the schema refuses unknown keys as Parse does.
func TestSchemaDescribesTheFile(t *testing.T) {
	var root map[string]any
	require.NoError(t, json.Unmarshal(Schema, &root))
	var fromSchema, fromType []string
	schemaKeys(root, "", &fromSchema)
	structKeys(reflect.TypeOf(File{}), "", &fromType)
	sort.Strings(fromSchema)
	sort.Strings(fromType)
	assert.Equal(t, fromType, fromSchema)
	compileSchema(t)
	var closed func(n map[string]any, path string)
	closed = func(n map[string]any, path string) {
		if n["type"] == "object" {
			assert.Equal(t, false, n["additionalProperties"], "%s refuses unknown keys", path)
		}
		if items, ok := n["items"].(map[string]any); ok {
			closed(items, path+"[]")
		}
		props, _ := n["properties"].(map[string]any)
		for k, v := range props {
			closed(v.(map[string]any), path+"."+k)
			assert.NotEmpty(t, v.(map[string]any)["description"], "%s.%s has a description", path, k)
		}
	}
	closed(root, "")
}

var fence = regexp.MustCompile("(?s)```yaml\n(# \\.chartship\\.yaml.*?)```")
var refRow = regexp.MustCompile("(?m)^\\| `([a-zA-Z.\\[\\]]+)` \\|")

// TestREADME: every .chartship.yaml example in README.md (a yaml block whose
// first line is "# .chartship.yaml") is valid for the schema and for Parse, and
// the README's reference lists every key of the schema, and no other.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	s := compileSchema(t)
	examples := fence.FindAllStringSubmatch(string(readme), -1)
	require.GreaterOrEqual(t, len(examples), 2, "the README's .chartship.yaml examples")
	for _, m := range examples {
		assert.NoError(t, validateSchema(t, s, m[1]), m[1])
		_, err := Parse([]byte(m[1]), "README example")
		assert.NoError(t, err, m[1])
	}
	var keys []string
	var root map[string]any
	require.NoError(t, json.Unmarshal(Schema, &root))
	schemaKeys(root, "", &keys)
	// the reference is the table of the README's .chartship.yaml section
	section := string(readme)
	start := strings.Index(section, "\n## `.chartship.yaml`\n")
	require.GreaterOrEqual(t, start, 0, "README has a .chartship.yaml section")
	section = section[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var listed []string
	for _, m := range refRow.FindAllStringSubmatch(section, -1) {
		listed = append(listed, strings.ReplaceAll(m[1], "[].", "."))
	}
	sort.Strings(keys)
	sort.Strings(listed)
	assert.Equal(t, keys, listed, "README's .chartship.yaml reference lists every key of config/schema.json")
}
