// Package spell finds the name a misspelt one was meant to be, for the "did you
// mean" hints of topology and expression errors.
package spell

import "strings"

// Closest returns the name in names that s is most likely a typo of, or "" when
// none is near enough. Case and dashes do not count (clientport, max-restarts); other
// differences may be one edit in a short name and at most two in a longer one.
func Closest(s string, names []string) string {
	folded := fold(s)
	best, bestDist := "", min(len([]rune(s))/2, 2)+1
	for _, name := range names {
		if fold(name) == folded {
			if name == s {
				return ""
			}
			return name
		}
		if d := Distance(folded, fold(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

func fold(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }

// Distance is the Levenshtein distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
