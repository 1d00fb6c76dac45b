package scripting

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr/file"
)

// Error is a problem at a place in an expression's source. Line and Column count
// from 1 and are relative to the expression, not to the file it was written in;
// Column counts characters, not bytes.
type Error struct {
	Line   int
	Column int
	Msg    string // one line, without expr's snippet and caret
	Hint   string // what to write instead, when there is something to suggest

	cause error // what a function the expression called failed with
}

// Unwrap is what failed inside a function the expression called, if that
// is what went wrong: an RPC's error keeps its code.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	s := fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// errorAt returns an error at the character offset from of src.
func errorAt(src string, from int, msg, hint string) *Error {
	// Bind is expr's own offset-to-line:column, so positions agree with its errors.
	fe := (&file.Error{Location: file.Location{From: from}}).Bind(file.NewSource(src))
	return &Error{Line: fe.Line, Column: fe.Column + 1, Msg: msg, Hint: hint}
}

// fromExpr turns an error from compiling or running src into an *Error. expr's own
// errors carry a snippet that would repeat the source inside the topology's error
// list, and a column from 0. names are what a misspelt name may have meant.
func fromExpr(src string, err error, names vocabulary) *Error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &Error{Line: 1, Column: 1, Msg: firstLine(err.Error())}
	}
	msg := firstLine(fe.Message)
	hint := names.suggest(msg)
	msg = exprToken.ReplaceAllString(goNames.Replace(msg), `unexpected "$1"`)
	if fe.Line == 0 { // not bound to the source by expr
		return errorAt(src, fe.From, msg, hint)
	}
	return &Error{Line: fe.Line, Column: fe.Column + 1, Msg: msg, Hint: hint}
}

// exprToken matches expr's names for tokens in its messages: Bracket(")").
var exprToken = regexp.MustCompile(`unexpected token \w+\("(.*)"\)`)

// goNames turns the Go type names in expr's messages into the names an expression
// writer sees.
var goNames = strings.NewReplacer(
	"type scripting.Session", "session",
	"type scripting.Server", "a server",
	"scripting.Server", "server",
	"scripting.Session", "session",
	"unexpected token EOF", "the expression ends too soon",
)

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
