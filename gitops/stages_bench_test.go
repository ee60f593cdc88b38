package gitops

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

var (
	stagesBenchOnce sync.Once
	stagesBenchDir  string
)

// benchStage is a commit-less stage of one cluster: an OCIRepository
// following RCs, the HelmRelease installing it and the cluster's Receiver.
const benchStage = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: hello-world, namespace: flux-system}
spec:
  url: oci://gsoci.azurecr.io/charts/giantswarm/hello-world
  ref:
    semver: ">=0.0.0-0"
    semverFilter: '.*-rc\..*'
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: hello-world-%d, namespace: flux-system}
spec:
  chartRef: {kind: OCIRepository, name: hello-world}
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: charts-%d, namespace: flux-system}
spec:
  type: generic-hmac
  resources:
    - {kind: OCIRepository, name: hello-world}
`

// syntheticStagesRepo is syntheticRepo's 10,000 files with one Deployment
// file in twenty replaced by a stage (500 stages over 50 clusters).
func syntheticStagesRepo(b *testing.B) string {
	stagesBenchOnce.Do(func() {
		stagesBenchDir = writeBenchRepo(b, "chartship-bench-stages-", func(i int) string {
			if i%20 == 5 {
				return fmt.Sprintf(benchStage, i, i)
			}
			return benchFile(i)
		})
	})
	return stagesBenchDir
}

// BenchmarkPlanStages is BenchmarkPlan with the stage plan on: 500
// OCIRepositories resolved against 200 tags, 500 HelmReleases and Receivers
// linked (acceptance: ≤ 0.4 s; compare with BenchmarkPlan in the same run).
func BenchmarkPlanStages(b *testing.B) {
	dir := syntheticStagesRepo(b)
	var tags []string
	for i := 0; i < 100; i++ {
		tags = append(tags, fmt.Sprintf("1.%d.0", i), fmt.Sprintf("1.%d.0-rc.1", i))
	}
	req := Request{Chart: "hello-world", Version: "1.100.0-rc.1", Available: tags}
	defer reportCPU(b)()
	for b.Loop() {
		plan, err := PlanDir(context.Background(), dir, req, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Stages) != benchFiles/20 || len(plan.MovingReceivers()) != benchFiles/20 || len(plan.Problems) != 0 {
			b.Fatalf("stages %d, problems %v", len(plan.Stages), plan.Problems)
		}
	}
}
