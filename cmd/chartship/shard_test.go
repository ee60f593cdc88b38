package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/testcluster"
)

// CircleCI's parallelism variables pick the shard; --shard wins over them; bad ones are a
// usage error naming the variable.
func TestUpgradeTestShardFromCircleCI(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	t.Setenv("CIRCLE_NODE_INDEX", "1")
	t.Setenv("CIRCLE_NODE_TOTAL", "2")
	args := []string{"chartship", "--output", "json", "upgrade-test", upgradeTestdata("hello-1.1.0"),
		"--cluster", "kubeconfig", "--kubeconfig", kc, "--from-file", upgradeTestdata("hello-1.0.0"), "--skip-tests",
		"--values", upgradeTestdata("one-replica-values.yaml"), "--values", upgradeTestdata("three-replicas-values.yaml")}
	type report struct {
		Scenarios []struct {
			Name string `json:"name"`
		} `json:"scenarios"`
		Shard *struct{ Index, Total, Of int } `json:"shard"`
	}
	for _, tc := range []struct {
		extra []string
		want  string
		index int
	}{{nil, "three-replicas", 1}, {[]string{"--shard", "0/2"}, "one-replica", 0}} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(args, tc.extra...), &stdout, &stderr)
		require.Equal(t, exitOK, code, "stderr: %s", stderr.String())
		var rep report
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
		require.Len(t, rep.Scenarios, 1)
		assert.Equal(t, tc.want, rep.Scenarios[0].Name)
		require.NotNil(t, rep.Shard)
		assert.Equal(t, struct{ Index, Total, Of int }{tc.index, 2, 2}, *rep.Shard)
	}

	t.Setenv("CIRCLE_NODE_INDEX", "2")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "CIRCLE_NODE_INDEX")
}
