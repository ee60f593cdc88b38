package gitops

import (
	"regexp"
	"strings"
	"sync"
)

// Flux post-build substitution writes ${var}, ${var:=default} or ${var:-default}
// into names; such a name stands for every value the variable may take.
var substitution = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:]?[-=][^}]*)?\}`)

var patternCache sync.Map // string → *regexp.Regexp

// nameMatches reports whether two names from a GitOps repository may denote the
// same object: equal, or equal once any ${var} on either side stands for any
// non-empty text.
func nameMatches(a, b string) bool {
	if a == b {
		return true
	}
	hasA, hasB := strings.Contains(a, "${"), strings.Contains(b, "${")
	if !hasA && !hasB {
		return false
	}
	if hasA && namePattern(a).MatchString(b) {
		return true
	}
	return hasB && namePattern(b).MatchString(a)
}

func namePattern(s string) *regexp.Regexp {
	if re, ok := patternCache.Load(s); ok {
		return re.(*regexp.Regexp)
	}
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range substitution.FindAllStringIndex(s, -1) {
		b.WriteString(regexp.QuoteMeta(s[last:loc[0]]))
		b.WriteString(".+")
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(s[last:]))
	b.WriteString("$")
	re := regexp.MustCompile(b.String())
	patternCache.Store(s, re)
	return re
}
