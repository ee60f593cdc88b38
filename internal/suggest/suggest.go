// Package suggest finds the "did you mean" for a mistyped name: a flag, a
// command or a .chartship.yaml key.
package suggest

import (
	"slices"
	"strings"
)

// Closest returns the candidate closest to s if it is close enough to be a
// typo of it, else "". Case is ignored; a candidate that s begins (or, after
// a dash, ends) counts as one edit away, so "cosign" suggests "cosign-key".
// Ties go to the candidate that sorts first. candidates is not modified.
func Closest(s string, candidates []string) string {
	sorted := slices.Sorted(slices.Values(candidates))
	ls := strings.ToLower(s)
	best, bestD := "", -1
	for _, c := range sorted {
		lc := strings.ToLower(c)
		d := Distance(ls, lc)
		if len(s) >= 3 && (strings.HasPrefix(lc, ls) || strings.HasSuffix(lc, "-"+ls)) {
			d = min(d, 1)
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

// Distance is the Levenshtein distance of a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
