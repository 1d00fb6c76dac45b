package scripting

import (
	"strings"

	"github.com/expr-lang/expr/parser"
)

// CheckSyntax parses an expression whose environment is not known yet (filters,
// handlers, remotes and hooks are given theirs by the runtime), so that a syntax
// error is still caught when the topology loads. A syntax error is an *Error.
func CheckSyntax(src string) error {
	if strings.TrimSpace(src) == "" {
		return &Error{Line: 1, Column: 1, Msg: "the expression is empty"}
	}
	if _, err := parser.Parse(src); err != nil {
		return fromExpr(src, err, vocabulary{})
	}
	return nil
}
