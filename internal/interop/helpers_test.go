package interop_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/chart"
)

// tool runs a peer CLI with env added to a clean environment (its own HOME and
// Helm directories), and returns its combined output.
func tool(t *testing.T, env []string, bin string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(context.Background(), bin, args...)
	cmd.Env = append([]string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"), "HELM_CONFIG_HOME=" + filepath.Join(home, "config"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"), "TUF_ROOT=" + filepath.Join(home, "tuf"),
	}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func mustTool(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	out, err := tool(t, env, bin, args...)
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	return out
}

// writeKeyring writes a throwaway PGP key as a keyring helm reads (secret and public
// parts), for .prov files.
func writeKeyring(t *testing.T) string {
	t.Helper()
	e, err := openpgp.NewEntity("chartship test", "", "test@chartship.example", nil)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "secring.gpg")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, e.SerializePrivate(f, nil))
	return path
}

// buildHello packages testdata/charts/hello at version with chartship, signed
// (.prov) with the keyring.
func buildHello(t *testing.T, version, keyring string) *chart.Package {
	t.Helper()
	src := t.TempDir()
	require.NoError(t, os.CopyFS(src, os.DirFS("../../testdata/charts/hello")))
	res, err := chart.Build(context.Background(), src, chart.BuildOptions{
		Destination: t.TempDir(),
		Version:     chart.VersionOptions{Version: version},
		Name:        chart.NameOptions{RepoName: "hello"},
		Sign:        chart.SignOptions{Key: "chartship test", Keyring: keyring},
	})
	require.NoError(t, err)
	require.NotEmpty(t, res.Package.ProvPath)
	return res.Package
}
