package gitops

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkStagesGolden compares the stage plan with <case>/stages.txt and
// <case>/stages.json when the case has them; CHARTSHIP_UPDATE_GOLDEN=1 writes
// them instead.
func checkStagesGolden(t *testing.T, dir string, plan *Plan) {
	t.Helper()
	var text strings.Builder
	plan.StagesText(&text)
	var js strings.Builder
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(plan.Stages))
	for name, got := range map[string]string{"stages.txt": text.String(), "stages.json": js.String()} {
		p := filepath.Join(dir, name)
		if os.Getenv("CHARTSHIP_UPDATE_GOLDEN") == "1" && len(plan.Stages) > 0 {
			require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
			continue
		}
		want, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, string(want), got, "%s differs", p)
	}
}
