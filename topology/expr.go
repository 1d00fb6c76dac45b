package topology

import (
	"encoding/json"
	"strings"

	"gopkg.in/yaml.v3"
)

// Expr is the source of an expression (a router, filter, handler or hook) together
// with where it was written, so that a compile error inside it can be reported at
// the file's own line and column.
type Expr struct {
	Source string
	Pos    Pos  // the value's first character in the file
	block  bool // a literal or folded block scalar: lines start below Pos
	indent int  // for a block, the column of its content lines
	quoted bool
}

func (e Expr) String() string               { return e.Source }
func (e Expr) IsZero() bool                 { return e.Source == "" }
func (e Expr) MarshalJSON() ([]byte, error) { return json.Marshal(e.Source) }

func (e *Expr) decodeNode(dec *decoder, n *yaml.Node, path string) {
	s, ok := dec.scalar(n, path, "an expression")
	if !ok {
		return
	}
	*e = Expr{Source: s, Pos: dec.pos(n)}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		e.block = true
		next := dec.src.line(e.Pos.File, n.Line+1)
		e.indent = len(next) - len(strings.TrimLeft(next, " ")) + 1
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		e.quoted = true
	}
}

// at maps a line and column inside the expression (both from 1) to the file.
func (e Expr) at(line, col int) Pos {
	p := e.Pos
	switch {
	case e.block:
		p.Line += line
		p.Col = e.indent + col - 1
	case line == 1:
		p.Col += col - 1
		if e.quoted {
			p.Col++
		}
	default:
		p.Line += line - 1
		p.Col = col
	}
	return p
}
