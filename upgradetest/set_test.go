package upgradetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/errdef"
)

func TestSetValues(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cert.pem")
	require.NoError(t, os.WriteFile(file, []byte("PEM"), 0o644))
	base := map[string]any{"image": map[string]any{"tag": "1.0"}, "replicaCount": 1}
	s := SetValues{
		Set:       []string{"replicaCount=3,image.tag=2.0", "list={a,b}", "port=080"},
		SetString: []string{"port=080"},
		SetFile:   []string{"tls.cert=" + file},
	}
	got, err := s.apply(base)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"image": map[string]any{"tag": "2.0"}, "replicaCount": int64(3), "list": []any{"a", "b"},
		"port": "080", "tls": map[string]any{"cert": "PEM"},
	}, got)
	assert.Equal(t, map[string]any{"image": map[string]any{"tag": "1.0"}, "replicaCount": 1}, base, "base unchanged")

	for _, bad := range []SetValues{{Set: []string{"a[=1"}}, {SetFile: []string{"x=/does/not/exist"}}} {
		_, err := bad.apply(nil)
		assert.ErrorIs(t, err, errdef.ErrUsage)
	}
}
