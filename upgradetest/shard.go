package upgradetest

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartship/chartship/internal/errdef"
)

// Shard is one share of an upgrade test's scenarios: share Index (0-based, as CircleCI's
// CIRCLE_NODE_INDEX counts) of Total. The zero value and any Total ≤ 1 mean every scenario.
//
// The scenarios (values file × from-version) are put in one order that depends only on
// which scenarios there are — by values file, then from-version — and dealt out in turn:
// scenario i goes to share i mod Total. Every shard computes the same order, so the shards
// together run every scenario exactly once, and their sizes differ by at most one.
type Shard struct {
	Index int `json:"index"`
	Total int `json:"total"`
}

// Env names CircleCI sets on each container of a job with `parallelism`.
const (
	EnvNodeIndex = "CIRCLE_NODE_INDEX"
	EnvNodeTotal = "CIRCLE_NODE_TOTAL"
)

// ParseShard reads "INDEX/TOTAL", e.g. "0/3" for the first of three shares.
func ParseShard(s string) (Shard, error) {
	idx, total, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, errdef.Usage(fmt.Errorf("--shard %q: give INDEX/TOTAL, e.g. 0/3 for the first of three shares (INDEX counts from 0, as CIRCLE_NODE_INDEX does)", s))
	}
	return newShard(idx, total, "--shard "+strconv.Quote(s))
}

// ShardFromEnv is the shard CircleCI's parallelism gives this container
// (CIRCLE_NODE_INDEX of CIRCLE_NODE_TOTAL); ok is false when they are not set.
func ShardFromEnv(getenv func(string) string) (s Shard, ok bool, err error) {
	idx, total := getenv(EnvNodeIndex), getenv(EnvNodeTotal)
	if idx == "" && total == "" {
		return Shard{}, false, nil
	}
	s, err = newShard(idx, total, fmt.Sprintf("%s=%q %s=%q", EnvNodeIndex, idx, EnvNodeTotal, total))
	return s, err == nil, err
}

func newShard(idx, total, what string) (Shard, error) {
	i, err1 := strconv.Atoi(strings.TrimSpace(idx))
	n, err2 := strconv.Atoi(strings.TrimSpace(total))
	if err := errors.Join(err1, err2); err != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, errdef.Usage(fmt.Errorf("%s: INDEX must be 0 to TOTAL-1 and TOTAL at least 1, e.g. 0/3", what))
	}
	return Shard{Index: i, Total: n}, nil
}

// All reports whether the shard is every scenario.
func (s Shard) All() bool { return s.Total <= 1 }

// String is "INDEX/TOTAL".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, max(s.Total, 1)) }

// ScenarioKey names a scenario for sharding: its values file and from-version ("" for an
// install-only scenario).
type ScenarioKey struct {
	Values string // values file ("" for the chart's defaults)
	From   string // from-version
}

// Pick returns the indexes of keys that belong to this shard, in keys' order.
func (s Shard) Pick(keys []ScenarioKey) []int {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	if s.All() {
		return order
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(keys[a].Values, keys[b].Values), compareVersions(keys[a].From, keys[b].From))
	})
	var mine []int
	for pos, i := range order {
		if pos%s.Total == s.Index {
			mine = append(mine, i)
		}
	}
	slices.Sort(mine)
	return mine
}

// compareVersions orders semver versions by precedence, falling back to the strings.
func compareVersions(a, b string) int {
	va, erra := semver.NewVersion(a)
	vb, errb := semver.NewVersion(b)
	if erra != nil || errb != nil {
		return strings.Compare(a, b)
	}
	return cmp.Or(va.Compare(vb), strings.Compare(a, b))
}

// shardScenarios keeps the shard's scenarios and records the shard in the report.
func shardScenarios(all []*scenario, sh Shard, rep *Report, log *slog.Logger) []*scenario {
	if sh.All() {
		return all
	}
	keys := make([]ScenarioKey, len(all))
	for i, s := range all {
		keys[i] = ScenarioKey{Values: s.valuesName}
		if s.from != nil {
			keys[i].From = s.from.Metadata.Version
		}
	}
	var mine []*scenario
	for _, i := range sh.Pick(keys) {
		mine = append(mine, all[i])
	}
	rep.Shard = &ShardReport{Shard: sh, Of: len(all)}
	log.Info("shard", "shard", sh.String(), "scenarios", len(mine), "of", len(all))
	return mine
}

// ShardReport says which share of the scenarios a report holds.
type ShardReport struct {
	Shard
	Of int `json:"of"` // the scenarios of all shards together
}
