package upgradetest

import (
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/strvals"

	"github.com/chartship/chartship/internal/errdef"
)

// SetValues are values given as helm spells them on its command line, applied
// over every scenario's values (the from-version's and the new one's), in
// helm's order: --set, then --set-string, then --set-file.
type SetValues struct {
	Set       []string // --set a.b=1,c=true (types as helm infers them)
	SetString []string // --set-string a=007 (always strings)
	SetFile   []string // --set-file cert=path/to/cert.pem (the file's content)
}

func (s SetValues) empty() bool { return len(s.Set)+len(s.SetString)+len(s.SetFile) == 0 }

// apply returns base (not changed) with the values set over it.
func (s SetValues) apply(base map[string]any) (map[string]any, error) {
	if s.empty() {
		return base, nil
	}
	out := deepCopy(base)
	for _, v := range s.Set {
		if err := strvals.ParseInto(v, out); err != nil {
			return nil, errdef.Usage(fmt.Errorf("--set %q: %w", v, err))
		}
	}
	for _, v := range s.SetString {
		if err := strvals.ParseIntoString(v, out); err != nil {
			return nil, errdef.Usage(fmt.Errorf("--set-string %q: %w", v, err))
		}
	}
	for _, v := range s.SetFile {
		read := func(rs []rune) (any, error) {
			b, err := os.ReadFile(string(rs))
			return string(b), err
		}
		if err := strvals.ParseIntoFile(v, out, read); err != nil {
			return nil, errdef.Usage(fmt.Errorf("--set-file %q: %w", v, err))
		}
	}
	return out, nil
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopy(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopyValue(e)
		}
		return out
	}
	return v
}
