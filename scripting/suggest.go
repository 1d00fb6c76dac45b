package scripting

import (
	"reflect"
	"strings"

	"github.com/expr-lang/expr/builtin"
)

// vocabulary is the names an expression environment offers, from which to guess
// what a misspelt name meant.
type vocabulary struct {
	env   reflect.Type
	funcs []function
}

// suggest returns a hint for expr's message msg, or "" when there is none.
func (v vocabulary) suggest(msg string) string {
	if v.env == nil {
		return ""
	}
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		names := append(exprNames(v.env), builtin.Names...)
		for _, f := range v.funcs {
			names = append(names, f.name)
		}
		return didYouMean(name, names)
	}
	// expr says "type scripting.Session has no field uidd".
	if rest, ok := strings.CutPrefix(msg, "type "); ok {
		typ, name, ok := strings.Cut(rest, " has no field ")
		if t := findType(v.env, typ, 0); ok && t != nil {
			return didYouMean(name, exprNames(t))
		}
	}
	return ""
}

// exprNames returns the names under which expr shows the fields of struct t.
func exprNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("expr"); ok {
			name, _, _ = strings.Cut(tag, ",")
		}
		names = append(names, name)
	}
	return names
}

// findType finds the struct type named name among the types reachable from t.
// depth stops the search in a type that contains itself.
func findType(t reflect.Type, name string, depth int) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 4 {
		return nil
	}
	if t.String() == name {
		return t
	}
	for f := range t.Fields() {
		if found := findType(f.Type, name, depth+1); found != nil {
			return found
		}
	}
	return nil
}

// didYouMean returns "did you mean x?" for the x in names nearest to name, when
// it is near enough to be the name meant.
func didYouMean(name string, names []string) string {
	best, bestDist := "", min(len([]rune(name))/2, 2)+1
	for _, n := range names {
		d := distance(strings.ToLower(name), strings.ToLower(n))
		if d < bestDist || d == 0 {
			best, bestDist = n, d
		}
	}
	if best == "" || best == name {
		return ""
	}
	return "did you mean " + best + "?"
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
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
