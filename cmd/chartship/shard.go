package main

import (
	"os"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/upgradetest"
)

// shardFlag is upgrade-test's --shard (not release's: a release tests every scenario
// before it publishes).
func shardFlag() cli.Flag {
	return &cli.StringFlag{Name: "shard", Usage: "run only share INDEX/TOTAL of the scenarios (values file × from-version), INDEX from 0; default: CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL when CircleCI's parallelism sets them"}
}

// readShard reads --shard, else CircleCI's parallelism variables.
func readShard(cmd *cli.Command) (upgradetest.Shard, error) {
	if s := cmd.String("shard"); cmd.IsSet("shard") {
		return upgradetest.ParseShard(s)
	}
	s, _, err := upgradetest.ShardFromEnv(os.Getenv)
	return s, err
}
