package upgradetest_test

import (
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/upgradetest"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]upgradetest.Shard{"0/1": {0, 1}, "2/3": {2, 3}, " 0/5 ": {0, 5}} {
		got, err := upgradetest.ParseShard(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "1", "3/3", "-1/2", "0/0", "a/b", "1/2/3"} {
		_, err := upgradetest.ParseShard(in)
		require.Error(t, err, in)
		assert.ErrorIs(t, err, errdef.ErrUsage, in)
		assert.Contains(t, err.Error(), "INDEX", in)
	}

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	_, ok, err := upgradetest.ShardFromEnv(getenv)
	require.NoError(t, err)
	assert.False(t, ok, "no CircleCI parallelism: no shard")
	env[upgradetest.EnvNodeIndex], env[upgradetest.EnvNodeTotal] = "1", "4"
	sh, ok, err := upgradetest.ShardFromEnv(getenv)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, upgradetest.Shard{Index: 1, Total: 4}, sh)
	env[upgradetest.EnvNodeIndex] = "4"
	_, _, err = upgradetest.ShardFromEnv(getenv)
	assert.ErrorContains(t, err, "CIRCLE_NODE_INDEX")
}

// Every shard count from 1 to 5 covers each scenario exactly once, the shares differ by at
// most one, and the assignment does not depend on the order the scenarios come in.
func TestShardPickCoversEveryScenarioOnceBalanced(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, values := range [][]string{{""}, {"ci/a-values.yaml", "ci/b-values.yaml", "ci/c-values.yaml"}} {
		for _, froms := range [][]string{{""}, {"1.0.0"}, {"1.9.0", "1.10.0", "0.9.1", "2.0.0-rc.1"}} {
			var keys []upgradetest.ScenarioKey
			for _, v := range values {
				for _, f := range froms {
					keys = append(keys, upgradetest.ScenarioKey{Values: v, From: f})
				}
			}
			for total := 1; total <= 5; total++ {
				name := fmt.Sprintf("%d scenarios over %d", len(keys), total)
				seen := map[upgradetest.ScenarioKey]int{}
				var sizes []int
				byShard := map[upgradetest.ScenarioKey]int{}
				for i := range total {
					picked := upgradetest.Shard{Index: i, Total: total}.Pick(keys)
					sizes = append(sizes, len(picked))
					for _, k := range picked {
						seen[keys[k]]++
						byShard[keys[k]] = i
					}
				}
				for _, k := range keys {
					assert.Equal(t, 1, seen[k], "%s: %v", name, k)
				}
				assert.LessOrEqual(t, slices.Max(sizes)-slices.Min(sizes), 1, "%s: balanced: %v", name, sizes)

				shuffled := slices.Clone(keys)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				for i := range total {
					for _, k := range (upgradetest.Shard{Index: i, Total: total}).Pick(shuffled) {
						assert.Equal(t, byShard[shuffled[k]], i, "%s: stable whatever the order: %v", name, shuffled[k])
					}
				}
			}
		}
	}
}

// On the test cluster: 2 values files × 2 from-versions, run as 1 to 5 shards; the union of
// each run's JUnit files is every scenario exactly once.
func TestShardsJUnitUnionIsEveryScenarioOnce(t *testing.T) {
	t.Parallel()
	needCluster(t)
	dir := t.TempDir()
	for _, v := range []string{"1.0.0", "1.0.1"} {
		c := loadChart(t, "hello-1.0.0")
		c.Metadata.Version = v
		_, err := chartutil.Save(c, dir)
		require.NoError(t, err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	idx, err := repo.IndexDirectory(dir, srv.URL)
	require.NoError(t, err)
	require.NoError(t, idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644))
	cat, err := catalog.Open(srv.URL+"/", catalog.Options{})
	require.NoError(t, err)

	values := []string{testdata(t, "one-replica-values.yaml"), testdata(t, "three-replicas-values.yaml")}
	want := []string{"one-replica: 1.0.0 → 1.1.0", "one-replica: 1.0.1 → 1.1.0", "three-replicas: 1.0.0 → 1.1.0", "three-replicas: 1.0.1 → 1.1.0"}
	for total := 1; total <= 5; total++ {
		var union []string
		for i := range total {
			rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), Catalog: cat, From: "1.0.0,1.0.1",
				Values: values, SkipTests: true, Parallel: 4, Shard: upgradetest.Shard{Index: i, Total: total}})
			require.NoError(t, err)
			require.True(t, rep.Passed)
			if total > 1 {
				require.NotNil(t, rep.Shard)
				assert.Equal(t, 4, rep.Shard.Of)
			}
			junit := filepath.Join(t.TempDir(), fmt.Sprintf("junit-%d.xml", i))
			f, err := os.Create(junit)
			require.NoError(t, err)
			require.NoError(t, rep.WriteJUnit(f))
			require.NoError(t, f.Close())
			validateJUnit(t, junit)
			union = append(union, junitSuiteNames(t, junit)...)
		}
		slices.Sort(union)
		assert.Equal(t, want, union, "%d shards: the JUnit files together hold every scenario exactly once", total)
	}
}

func junitSuiteNames(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(data, &doc))
	var names []string
	for _, s := range doc.Suites {
		require.NotEmpty(t, s.Cases, "suite %s has its steps", s.Name)
		names = append(names, s.Name)
	}
	return names
}
