package logging

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormats(t *testing.T) {
	t.Setenv("CI", "")
	var buf bytes.Buffer

	l, err := New(&buf, FormatJSON, false)
	require.NoError(t, err)
	l.Info("pushed", "ref", "registry/hello:1.0.0")
	l.Debug("hidden without --verbose")
	var event map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &event))
	assert.Equal(t, "pushed", event["msg"])
	assert.Equal(t, "registry/hello:1.0.0", event["ref"])

	buf.Reset()
	l, err = New(&buf, FormatHuman, true)
	require.NoError(t, err)
	l.With("chart", "hello").Warn("slow registry", "retry", 2)
	l.Debug("shown with --verbose")
	assert.Regexp(t, `^ +\d+\.\ds ! slow registry  chart=hello  retry=2\n +\d+\.\ds   shown with --verbose\n$`, buf.String())

	buf.Reset()
	l.Info("version resolved", "version", "1.0.0", "tag", "")
	assert.NotContains(t, buf.String(), "tag=", "empty values are left out of human lines")

	buf.Reset()
	l, err = New(&buf, FormatAuto, false) // not a terminal: plain
	require.NoError(t, err)
	l.Info("done", "path", "build/hello-1.0.0.tgz")
	assert.Contains(t, buf.String(), `level=INFO msg=done path=build/hello-1.0.0.tgz`)

	_, err = New(&buf, "xml", false)
	assert.ErrorContains(t, err, `unknown log format "xml"`)
}
