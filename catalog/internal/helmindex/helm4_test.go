package helmindex

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/chartship/chartship/internal/peertools"
)

// TestInsertMatchesHelm4RepoIndexMerge: on the real 4 MB index, `helm repo index
// --merge` of the real helm 4 CLI and chartship's insert of the same package give the
// same file, byte for byte, once the two clocks agree (helm stamps `created` and
// `generated` with its own now; the test gives chartship the same times).
func TestInsertMatchesHelm4RepoIndexMerge(t *testing.T) {
	helm := peertools.Helm4(t)
	real := sharedData(t, "control-plane-catalog-index.yaml")
	const base = "https://giantswarm.github.io/control-plane-catalog/"
	for _, tc := range []struct{ name, chart, version string }{
		{"new version of an existing chart", "alloy-gateway", "0.2.5"},
		{"a new chart", "chartship-hello", "1.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := &helmchart.Metadata{
				APIVersion: "v2", Name: tc.chart, Version: tc.version, AppVersion: "1.2.3",
				Description: "A chart for the helm 4 interop test: with a colon, and a description long enough to be folded",
				Home:        "https://github.com/chartship/" + tc.chart,
				Annotations: map[string]string{"application.giantswarm.io/team": "atlas"},
				Maintainers: []*helmchart.Maintainer{{Name: "team", Email: "team@example.com"}},
			}
			dir := t.TempDir()
			tgz, err := chartutil.Save(&helmchart.Chart{Metadata: md, Values: map[string]any{}}, dir)
			require.NoError(t, err)
			data, err := os.ReadFile(tgz)
			require.NoError(t, err)
			sum := sha256.Sum256(data)

			home := t.TempDir()
			cmd := exec.Command(helm, "repo", "index", dir, "--url", base, "--merge", real)
			cmd.Env = []string{"HOME=" + home, "HELM_CONFIG_HOME=" + home, "HELM_CACHE_HOME=" + home, "HELM_DATA_HOME=" + home}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
			helmOut, err := os.ReadFile(filepath.Join(dir, "index.yaml"))
			require.NoError(t, err)

			// helm's clocks, read back from what it wrote.
			hi, err := repo.LoadIndexFile(filepath.Join(dir, "index.yaml"))
			require.NoError(t, err)
			var created time.Time
			for _, e := range hi.Entries[tc.chart] {
				if e.Version == tc.version {
					created = e.Created
				}
			}
			require.False(t, created.IsZero(), "helm indexed %s %s", tc.chart, tc.version)

			cv, err := NewEntry(md, base, hex.EncodeToString(sum[:]), created)
			require.NoError(t, err)
			ours, res, err := Add(real, cv, hi.Generated)
			require.NoError(t, err)
			assert.Empty(t, res.Note, "the splice, not helm's merge")
			if !bytes.Equal(helmOut, ours) {
				t.Fatalf("chartship's insert differs from helm 4's repo index --merge: %s", firstDifference(helmOut, ours))
			}
		})
	}
}

// firstDifference names the first line where a and b differ.
func firstDifference(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: helm %q, chartship %q (%d vs %d lines)", i+1, x, y, len(al), len(bl))
		}
	}
	return "no line differs"
}
