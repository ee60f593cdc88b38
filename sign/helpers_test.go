package sign_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/oci"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/charttest"
	"github.com/chartship/chartship/internal/registrytest"
)

// published pushes a test chart to a namespace of reg and returns the catalog and package.
func published(t testing.TB, reg *registrytest.Registry, name, version string) (*oci.Catalog, *chart.Package) {
	t.Helper()
	cat, err := oci.Open(reg.Ref("charts"), oci.Options{PlainHTTP: true, Retries: 0})
	require.NoError(t, err)
	pkg := charttest.Package(t, t.TempDir(), name, version)
	_, err = cat.Publish(context.Background(), pkg)
	require.NoError(t, err)
	return cat, pkg
}

func writes(reqs []registrytest.Request) (n int) {
	for _, r := range reqs {
		if r.IsWrite() {
			n++
		}
	}
	return n
}

func repoRef(reg *registrytest.Registry, name string) string {
	return strings.TrimPrefix(reg.Ref("charts"), "oci://") + "/" + name
}

func base64url(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
