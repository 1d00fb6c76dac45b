package scripting

import (
	"reflect"
	"strings"

	"github.com/expr-lang/expr/builtin"

	"github.com/pomeloctl/pomeloctl/internal/spell"
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

// didYouMean returns "did you mean x?" for the x in names that name is most
// likely a typo of, or "".
func didYouMean(name string, names []string) string {
	if best := spell.Closest(name, names); best != "" {
		return "did you mean " + best + "?"
	}
	return ""
}
