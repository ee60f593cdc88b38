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

	bad := charttest.Package(t, t.TempDir(), "hello", "1.0.0")
	bad.Attachments = map[string][]byte{"../escape.json": []byte("{}")}
	before := head(t, bare)
	_, err = c.Publish(context.Background(), bad)
	require.ErrorContains(t, err, "plain file name")
	assert.Equal(t, before, head(t, bare), "a bad attachment publishes nothing")

	pkg := charttest.Package(t, t.TempDir(), "hello", "1.0.0")
	pkg.Attachments = map[string][]byte{"upgrade-test.json": []byte(`{"passed":true}` + "\n")}
	res, err := c.Publish(context.Background(), pkg)
	require.NoError(t, err)
	assert.Equal(t, catalogdef.Published, res.Status)
	assert.Equal(t, `{"passed":true}`+"\n", show(t, bare, "hello-1.0.0.tgz-meta/upgrade-test.json"))
}
