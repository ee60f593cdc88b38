package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	benchFiles   = 10000
	benchMarkers = 1000
)

var (
	benchOnce sync.Once
	benchDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	if stagesBenchDir != "" {
		os.RemoveAll(stagesBenchDir)
	}
	os.Exit(code)
}

// syntheticRepo writes a GitOps repository of benchFiles YAML files: one in ten
// is an App pinned with a $imagepolicy marker, the rest ordinary manifests.
func syntheticRepo(b *testing.B) string {
	benchOnce.Do(func() { benchDir = writeBenchRepo(b, "chartship-bench-", benchFile) })
	return benchDir
}

// benchFile is the content of syntheticRepo's file i.
func benchFile(i int) string {
	if i%10 == 0 {
		return fmt.Sprintf(benchApp, i/10, i/10, i/10, i, i/10)
	}
	return fmt.Sprintf(benchDeployment, i, i, i, i)
}

// writeBenchRepo writes benchFiles files, file(i) each, over 50 clusters of 20
// namespaces in a new temporary directory (TestMain removes it).
func writeBenchRepo(b *testing.B, prefix string, file func(i int) string) string {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchFiles; i++ {
		sub := filepath.Join(dir, "clusters", fmt.Sprintf("c%02d", i%50), fmt.Sprintf("ns%02d", (i/50)%20))
		must(b, os.MkdirAll(sub, 0o755))
		must(b, os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.yaml", i)), []byte(file(i)), 0o644))
	}
	return dir
}

func must(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

const benchApp = `# managed by the platform team
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: app-%d, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app-%d}
  policy: {semver: {range: '>=1.0.0 <2.0.0'}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: app-%d, namespace: flux-system}
spec: {image: gsoci.azurecr.io/charts/giantswarm/hello-world}
---
apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata:
  name: hello-%d
  namespace: org-acme
  labels:
    app-operator.giantswarm.io/version: 0.0.0
spec:
  catalog: giantswarm-catalog-oci
  name: hello-world
  namespace: hello
  version: 1.2.0 # {"$imagepolicy": "flux-system:app-%d:tag"}
  kubeConfig:
    inCluster: true
  userConfig:
    configMap:
      name: hello-user-values
      namespace: org-acme
`

const benchDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%d
  namespace: team-%d
  labels: {app: web, tier: frontend}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web-%d}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:2.4.%d
          ports:
            - containerPort: 8080
          resources:
            limits: {cpu: 500m, memory: 256Mi}
          env:
            - name: LOG_LEVEL
              value: info
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports: [{port: 80, targetPort: 8080}]
`

// BenchmarkPlan plans a bump over the synthetic repository (acceptance: < 1 s).
func BenchmarkPlan(b *testing.B) {
	dir := syntheticRepo(b)
	req := Request{Chart: "hello-world", Version: "1.3.0"}
	defer reportCPU(b)()
	for b.Loop() {
		plan, err := PlanDir(context.Background(), dir, req, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Changes) != benchMarkers || len(plan.Problems) != 0 {
			b.Fatalf("changes %d, problems %v", len(plan.Changes), plan.Problems)
		}
	}
}

// BenchmarkKyamlSetters is the baseline: a kyaml pipeline (the library Flux's
// image-automation-controller and kpt setters use) reading every file into
// RNodes and setting each $imagepolicy setter's value, without writing (and
// without resolving policies, which the plan does).
func BenchmarkKyamlSetters(b *testing.B) {
	dir := syntheticRepo(b)
	defer reportCPU(b)()
	for b.Loop() {
		if n := kyamlSetters(b, dir, &kio.LocalPackageReader{PackagePath: dir}); n != benchMarkers {
			b.Fatalf("found %d setters", n)
		}
	}
}

// BenchmarkKyamlSettersScreened is the kyaml baseline with Flux's screening:
// only files containing the $imagepolicy token are parsed.
func BenchmarkKyamlSettersScreened(b *testing.B) {
	dir := syntheticRepo(b)
	defer reportCPU(b)()
	for b.Loop() {
		var inputs []kio.Reader
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(p) != ".yaml" {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.Contains(string(data), markerKey) {
				inputs = append(inputs, &kio.ByteReader{Reader: strings.NewReader(string(data))})
			}
			return nil
		})
		if n := kyamlSetters(b, dir, inputs...); n != benchMarkers {
			b.Fatalf("found %d setters", n)
		}
	}
}

func kyamlSetters(b *testing.B, dir string, inputs ...kio.Reader) int {
	found := 0
	var visit func(n *kyaml.Node)
	visit = func(n *kyaml.Node) {
		if n.Kind == kyaml.ScalarNode && strings.Contains(n.LineComment, markerKey) {
			if m, ok, err := ParseMarker(n.LineComment); ok && err == nil && m.Field == "tag" {
				n.Value = "1.3.0" // the setter's new value, as Flux's setter filter sets it
				found++
			}
		}
		for _, c := range n.Content {
			visit(c)
		}
	}
	err := kio.Pipeline{
		Inputs: inputs,
		Filters: []kio.Filter{kio.FilterFunc(func(nodes []*kyaml.RNode) ([]*kyaml.RNode, error) {
			for _, n := range nodes {
				visit(n.YNode())
			}
			return nodes, nil
		})},
	}.Execute()
	if err != nil {
		b.Fatal(err)
	}
	return found
}

// reportCPU adds the process CPU time (user+system) per operation, which the
// shared, loaded build machine distorts far less than wall time.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpu()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
		}
	}
}
