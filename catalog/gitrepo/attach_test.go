package gitrepo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/catalog/internal/catalogdef"
	"github.com/chartship/chartship/internal/charttest"
)

func TestGitPublishKeepsAttachmentsInMeta(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "catalog.git")
	bareCatalog(t, bare, map[string]string{"README.md": "catalog\n"})
	c, err := Open("git+file://"+bare, testGitOptions())
	require.NoError(t, err)

	pkg := charttest.Package(t, t.TempDir(), "hello", "1.0.0")
	before := head(t, bare)
	_, err = c.Publish(context.Background(), pkg, catalogdef.Attachment{Name: "../escape.json", Data: []byte("{}")})
	require.ErrorContains(t, err, "plain file name")
	assert.Equal(t, before, head(t, bare), "a bad attachment publishes nothing")

	res, err := c.Publish(context.Background(), pkg, catalogdef.Attachment{Name: "upgrade-test.json", MediaType: "application/json", Data: []byte(`{"passed":true}` + "\n")})
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	assert.Equal(t, []string{"https://example.github.io/catalog/hello-1.0.0.tgz-meta/upgrade-test.json"}, res.Attached)
	assert.Equal(t, `{"passed":true}`+"\n", show(t, bare, "hello-1.0.0.tgz-meta/upgrade-test.json"))
}
