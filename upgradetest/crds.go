package upgradetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/cli-utils/pkg/object"

	"github.com/chartship/chartship/internal/errdef"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// readCRDs reads the CustomResourceDefinitions of files, directories (their
// *.yaml, *.yml and *.json files) and http(s) URLs. Anything else in them is
// bad input: --crds installs definitions only.
func readCRDs(ctx context.Context, sources []string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, src := range sources {
		docs, err := readSource(ctx, src)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(d.data), 4096)
			for n := 1; ; n++ {
				var obj map[string]any
				if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					return nil, errdef.Usage(fmt.Errorf("--crds %s: document %d: %v", d.name, n, err))
				}
				if len(obj) == 0 {
					continue
				}
				u := &unstructured.Unstructured{Object: obj}
				if u.GetKind() != "CustomResourceDefinition" || !strings.HasPrefix(u.GetAPIVersion(), "apiextensions.k8s.io/") {
					return nil, errdef.Usage(fmt.Errorf("--crds %s: document %d is a %s %q, not a CustomResourceDefinition: give CRDs only (the chart installs the rest)", d.name, n, u.GetKind(), u.GetName()))
				}
				out = append(out, u)
			}
		}
	}
	return out, nil
}

type sourceDoc struct {
	name string
	data []byte
}

func readSource(ctx context.Context, src string) ([]sourceDoc, error) {
	if strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("--crds %s: %w", src, err))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, errdef.External(fmt.Errorf("--crds %s: %w", src, err))
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, errdef.External(fmt.Errorf("--crds %s: %s", src, resp.Status))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return nil, errdef.External(fmt.Errorf("--crds %s: %w", src, err))
		}
		return []sourceDoc{{src, b}}, nil
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--crds %s: %w", src, err))
	}
	files := []string{src}
	if st.IsDir() {
		files = nil
		err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := filepath.Ext(p); !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("--crds %s: %w", src, err))
		}
		sort.Strings(files)
	}
	var out []sourceDoc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("--crds %s: %w", f, err))
		}
		out = append(out, sourceDoc{f, b})
	}
	return out, nil
}

// installCRDs applies the CRDs (server-side, field manager chartship) and
// waits until the API server serves each. They stay in the cluster (they are
// cluster-wide, as those of a chart's crds/ directory). It returns the kinds
// they define: no controller reconciles them here.
func installCRDs(ctx context.Context, c *Cluster, crds []*unstructured.Unstructured, timeout time.Duration) (map[schema.GroupKind]bool, error) {
	dyn, err := dynamic.NewForConfig(c.rest)
	if err != nil {
		return nil, errdef.External(err)
	}
	kinds := map[schema.GroupKind]bool{}
	for _, crd := range crds {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		kinds[schema.GroupKind{Group: group, Kind: kind}] = true
		crd.SetManagedFields(nil)
		crd.SetResourceVersion("")
		if _, err := dyn.Resource(crdResource).Apply(ctx, crd.GetName(), crd, metav1.ApplyOptions{FieldManager: "chartship", Force: true}); err != nil {
			return nil, errdef.External(fmt.Errorf("installing CRD %s: %w", crd.GetName(), err))
		}
	}
	deadline := time.Now().Add(timeout)
	for _, crd := range crds {
		for {
			got, err := dyn.Resource(crdResource).Get(ctx, crd.GetName(), metav1.GetOptions{})
			if err == nil && established(got) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, errdef.External(fmt.Errorf("CRD %s was not established within %s", crd.GetName(), timeout))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return kinds, nil
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// splitUnreconciled takes the objects of kinds no controller reconciles here
// out of the health check: their health can't be known in this cluster.
func splitUnreconciled(ids object.ObjMetadataSet, kinds map[schema.GroupKind]bool) (object.ObjMetadataSet, []string) {
	if len(kinds) == 0 {
		return ids, nil
	}
	var keep object.ObjMetadataSet
	var left []string
	for _, id := range ids {
		if kinds[id.GroupKind] {
			left = append(left, id.GroupKind.Kind+"/"+id.Name)
			continue
		}
		keep = append(keep, id)
	}
	return keep, left
}
