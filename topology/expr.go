package topology

import (
	"encoding/json"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Expr is the source of an expression (a router, filter, handler or hook) together
// with where it was written, so that a compile error inside it can be reported at
// the file's own line and column.
type Expr struct {
	Source string
	Pos    Pos      // the value as written: its first quote, character or block indicator
	lines  []string // the file's lines
	block  bool     // a block scalar (| or >): its text starts on the next line
}

func (e Expr) String() string               { return e.Source }
func (e Expr) IsZero() bool                 { return e.Source == "" }
func (e Expr) MarshalJSON() ([]byte, error) { return json.Marshal(e.Source) }

func (e *Expr) decodeNode(dec *decoder, n *yaml.Node, path string) {
	s, ok := dec.scalar(n, path, "an expression")
	if !ok {
		return
	}
	pos := dec.pos(n)
	*e = Expr{Source: s, Pos: pos, lines: dec.src.lines[pos.File]}
	e.block = n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle
}

// At maps a line and column inside the expression (both from 1) to the
// file: where a compile error, or a run's, is reported.
//
// YAML folds plain and folded scalars, unescapes quoted ones and strips a block's
// indentation, so the expression is not a copy of the file's text. What survives is
// the token at the error: find the same occurrence of it in the written value.
func (e Expr) At(line, col int) Pos {
	src := []rune(e.Source)
	off := 0
	for l := 1; l < line && off < len(src); off++ {
		if src[off] == '\n' {
			l++
		}
	}
	off += col - 1
	past := 0 // an error at the very end (an unfinished expression) is after the last token
	for off >= len(src) && off > 0 {
		off--
		past = 1
	}
	for off > 0 && unicode.IsSpace(src[off]) {
		off--
	}
	if off < 0 || off >= len(src) {
		return e.Pos
	}
	word := tokenAt(src, off)
	nth := strings.Count(string(src[:off]), word)

	first := e.Pos.Line
	if e.block {
		first++
	}
	for l := first; l <= len(e.lines) && l < first+200; l++ {
		text := []rune(e.lines[l-1])
		start := 0
		if l == e.Pos.Line {
			start = min(e.Pos.Col-1, len(text))
		}
		for i := start; i+len([]rune(word)) <= len(text); i++ {
			if string(text[i:i+len([]rune(word))]) != word {
				continue
			}
			if nth == 0 {
				return Pos{File: e.Pos.File, Line: l, Col: i + 1 + past*len([]rune(word))}
			}
			nth--
		}
	}
	return e.Pos
}

// tokenAt is the identifier or number starting at off, or the one character there.
func tokenAt(src []rune, off int) string {
	isWord := func(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	end := off + 1
	if isWord(src[off]) {
		for end < len(src) && isWord(src[end]) {
			end++
		}
	}
	return string(src[off:end])
}
