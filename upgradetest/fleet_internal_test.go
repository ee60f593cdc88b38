package upgradetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFleetFromMatchesTheCatalogBySemver: a fleet version is found in the
// catalog by its version, however either side writes it ("v1.0.0", "1.1").
func TestFleetFromMatchesTheCatalogBySemver(t *testing.T) {
	runs := []FleetRun{{Version: "v1.0.0", Clusters: []string{"a"}}, {Version: "1.1", Clusters: []string{"b"}}, {Version: "1.0.0", Clusters: []string{"c"}}}
	opts := &Options{Fleet: func(context.Context, string, string, []string) ([]FleetRun, error) { return runs, nil }}
	versions, clusters, untested, err := fleetFrom(context.Background(), opts, "hello", "2.0.0", []string{"1.0.0", "1.1.0"})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0", "1.1.0"}, versions)
	assert.Equal(t, map[string][]string{"1.0.0": {"a", "c"}, "1.1.0": {"b"}}, clusters)
	assert.Empty(t, untested)
}
