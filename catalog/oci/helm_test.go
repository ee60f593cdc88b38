package oci_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	helmregistry "helm.sh/helm/v3/pkg/registry"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/registrytest"
)

func ociHelmClient(t testing.TB) *helmregistry.Client {
	t.Helper()
	c, err := helmregistry.NewClient(
		helmregistry.ClientOptPlainHTTP(),
		helmregistry.ClientOptWriter(io.Discard),
		helmregistry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")),
	)
	require.NoError(t, err)
	return c
}

func ociHelmPush(t testing.TB, c *helmregistry.Client, pkg *chart.Package, ref string) *helmregistry.PushResult {
	t.Helper()
	data, err := os.ReadFile(pkg.Path)
	require.NoError(t, err)
	var opts []helmregistry.PushOption
	if pkg.ProvPath != "" {
		prov, err := os.ReadFile(pkg.ProvPath)
		require.NoError(t, err)
		opts = append(opts, helmregistry.PushOptProvData(prov))
	}
	res, err := c.Push(data, ref, opts...)
	require.NoError(t, err)
	return res
}

// TestOCIHelmInterop: what chartship pushes, helm's registry client pulls, and
// what helm pushes, chartship lists and fetches; the two manifests agree on
// everything but the creation time.
func TestOCIHelmInterop(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	helm := ociHelmClient(t)
	pkg := ociSign(t, ociTestPackage(t, t.TempDir(), "interop", "1.4.0+sha.abc", "x"))
	tag := "1.4.0_sha.abc"

	ours := ociOpen(t, reg.Ref("chartship"), oci.Options{PlainHTTP: true}, nil)
	_, err := ours.Publish(ctx, pkg)
	require.NoError(t, err)

	// helm pulls what chartship pushed
	pulled, err := helm.Pull(fmt.Sprintf("%s/chartship/interop:%s", reg.Host, tag), helmregistry.PullOptWithProv(true))
	require.NoError(t, err)
	data, _ := os.ReadFile(pkg.Path)
	prov, _ := os.ReadFile(pkg.ProvPath)
	assert.Equal(t, data, pulled.Chart.Data)
	assert.Equal(t, prov, pulled.Prov.Data)
	assert.Equal(t, "interop", pulled.Chart.Meta.Name)
	assert.Equal(t, "1.4.0+sha.abc", pulled.Chart.Meta.Version)

	// helm pushes the same package elsewhere; chartship reads it
	hres := ociHelmPush(t, helm, pkg, fmt.Sprintf("%s/helm/interop:%s", reg.Host, pkg.Version())) // helm turns + into _ itself
	theirs := ociOpen(t, reg.Ref("helm"), oci.Options{PlainHTTP: true}, nil)
	versions, err := theirs.Versions(ctx, "interop")
	require.NoError(t, err)
	assert.Equal(t, []string{"1.4.0+sha.abc"}, versions)
	path, err := theirs.Fetch(ctx, "interop", "1.4.0+sha.abc", t.TempDir())
	require.NoError(t, err)
	got := ociOpenPackage(t, path)
	assert.Equal(t, pkg.Digest, got.Digest)
	gotProv, _ := os.ReadFile(got.ProvPath)
	assert.Equal(t, prov, gotProv)

	// and, since the chart layer is the same, chartship sees helm's push as its own
	res, err := theirs.Publish(ctx, pkg)
	require.NoError(t, err)
	assert.Equal(t, catalogdef.AlreadyPublished, res.Status)

	// the manifests agree: config, layers, annotations (but for the creation time)
	mine, _ := ociManifest(t, reg, "chartship/interop", tag)
	helms, _ := ociManifest(t, reg, "helm/interop", tag)
	assert.Equal(t, helms.Config, mine.Config, "same config blob")
	assert.Equal(t, hres.Config.Digest, mine.Config.Digest.String())
	assert.Equal(t, helms.Layers, mine.Layers, "same layers, same order")
	assert.Equal(t, helms.SchemaVersion, mine.SchemaVersion)
	assert.NotEmpty(t, mine.Annotations[ocispec.AnnotationCreated])
	delete(mine.Annotations, ocispec.AnnotationCreated)
	delete(helms.Annotations, ocispec.AnnotationCreated)
	assert.Equal(t, helms.Annotations, mine.Annotations)
	assert.Equal(t, "interop", mine.Annotations[ocispec.AnnotationTitle], "a chart annotation can't override the title")
	raw, _ := json.Marshal(mine.Annotations)
	t.Logf("annotations: %s", raw)
}
