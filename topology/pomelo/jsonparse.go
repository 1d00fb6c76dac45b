package pomelo

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/pomeloctl/pomeloctl/topology"
)

// maxDepth bounds how deeply arrays and objects may nest. The parser recurses once
// per level, and no Pomelo file comes near it (protos nest messages a few deep), so
// a hostile file cannot exhaust the stack.
const maxDepth = 200

// bom is the byte-order mark some editors start a file with.
const bom = "\uFEFF"

// parseJSON parses the JSON document data, read from the file name. It returns the
// root value and a warning for each key an object repeats (JSON.parse, and so
// Pomelo, keeps the later value); invalid JSON gives a *topology.Error at the place
// where the document stops being JSON.
func parseJSON(name string, data []byte) (*value, []topology.Warning, error) {
	p := &parser{name: name, data: data, line: 1, col: 1}
	// Node's require strips a byte-order mark before JSON.parse sees the text.
	if bytes.HasPrefix(data, []byte(bom)) {
		p.off, p.base, p.mark = len(bom), len(bom), len(bom)
	}
	p.skipSpace()
	if p.off == len(data) {
		return nil, nil, &topology.Error{Pos: topology.Pos{File: name}, Msg: "JSON syntax: the file is empty", Hint: "a Pomelo config file holds one JSON object or array"}
	}
	v, err := p.value()
	if err != nil {
		return nil, nil, err
	}
	end := p.pos(p.off - 1)
	p.skipSpace()
	if p.off < len(data) {
		return nil, nil, p.fail(p.off, fmt.Sprintf("found %s after the end of the JSON value at %d:%d", p.token(p.off), end.Line, end.Col),
			"a file holds one JSON value: join the values in one object or array, or remove what follows")
	}
	return v, p.dups, nil
}

// parser reads one JSON document. Positions are computed from byte offsets on
// demand, walking forward from the last one asked for, so that the whole parse
// counts lines and characters once.
type parser struct {
	name string
	data []byte
	off  int
	open []opening // the arrays and objects being read, innermost last
	dups []topology.Warning

	base            int // where the text starts, after a byte-order mark
	mark, line, col int // offset mark is at line:col
}

// opening is an array or object not yet closed.
type opening struct {
	bracket byte
	pos     topology.Pos
}

// pos is the line and column of the byte at off.
func (p *parser) pos(off int) topology.Pos {
	if off < p.mark {
		p.mark, p.line, p.col = p.base, 1, 1
	}
	seg := p.data[p.mark:off]
	if i := bytes.LastIndexByte(seg, '\n'); i >= 0 {
		p.line += bytes.Count(seg, []byte{'\n'})
		p.col = 1 + utf8.RuneCount(seg[i+1:])
	} else {
		p.col += utf8.RuneCount(seg)
	}
	p.mark = off
	return topology.Pos{File: p.name, Line: p.line, Col: p.col}
}

func (p *parser) fail(off int, msg, hint string) *topology.Error {
	return &topology.Error{Pos: p.pos(off), Msg: "JSON syntax: " + msg, Hint: hint}
}

func (p *parser) skipSpace() {
	for p.off < len(p.data) {
		switch p.data[p.off] {
		case ' ', '\t', '\n', '\r':
			p.off++
		default:
			return
		}
	}
}

func (p *parser) push(bracket byte) error {
	if len(p.open) >= maxDepth {
		return p.fail(p.off, fmt.Sprintf("nested deeper than %d levels", maxDepth), "")
	}
	p.open = append(p.open, opening{bracket, p.pos(p.off)})
	return nil
}

func (p *parser) pop() { p.open = p.open[:len(p.open)-1] }

// eof is the error for a document that ends early.
func (p *parser) eof() error {
	if len(p.open) == 0 {
		return p.fail(p.off, "the file ends where a value was expected", "")
	}
	o := p.open[len(p.open)-1]
	what, closer := "object", "}"
	if o.bracket == '[' {
		what, closer = "array", "]"
	}
	return p.fail(p.off, fmt.Sprintf("the file ends before the %s opened at %d:%d is closed", what, o.pos.Line, o.pos.Col), "close it with "+closer)
}

func (p *parser) value() (*value, error) {
	p.skipSpace()
	if p.off >= len(p.data) {
		return nil, p.eof()
	}
	switch c := p.data[p.off]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		pos := p.pos(p.off)
		s, err := p.str()
		return &value{kind: stringKind, pos: pos, text: s}, err
	case c == '-' || isDigit(c):
		return p.number()
	case isWordByte(c):
		return p.literal()
	}
	return nil, p.unexpected("a value")
}

func (p *parser) object() (*value, error) {
	v := &value{kind: objectKind, pos: p.pos(p.off)}
	if err := p.push('{'); err != nil {
		return nil, err
	}
	p.off++
	var index map[string]int // by key, once the object is large enough to need it
	comma := -1              // offset of the comma before this member, if any
	for {
		p.skipSpace()
		if p.off >= len(p.data) {
			return nil, p.eof()
		}
		switch c := p.data[p.off]; {
		case c == '}' && comma >= 0:
			return nil, p.fail(comma, "a comma after the last member of an object", "remove it: JSON allows no trailing comma")
		case c == '}':
			p.off++
			p.pop()
			return v, nil
		case c != '"':
			return nil, p.badKey()
		}
		keyPos := p.pos(p.off)
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.off >= len(p.data) {
			return nil, p.eof()
		}
		if p.data[p.off] != ':' {
			return nil, p.fail(p.off, fmt.Sprintf("expected ':' after the key %s, found %s", quoteShort(key), p.token(p.off)), "write \"key\": value")
		}
		p.off++
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		end := p.pos(p.off - 1)
		m := &member{key: key, keyPos: keyPos, val: val}
		if i, dup := p.find(v, index, key); dup {
			first := v.members[i].keyPos
			p.dups = append(p.dups, topology.Warning{Pos: keyPos, Msg: fmt.Sprintf(
				"%s is written twice in this object (first at %d:%d): JSON.parse, and so Pomelo, keeps this later value", quoteShort(key), first.Line, first.Col)})
			v.members[i] = m
		} else {
			v.members = append(v.members, m)
			if index != nil {
				index[key] = len(v.members) - 1
			} else if len(v.members) == 16 {
				index = make(map[string]int, 32)
				for i, m := range v.members {
					index[m.key] = i
				}
			}
		}
		p.skipSpace()
		if p.off >= len(p.data) {
			return nil, p.eof()
		}
		switch p.data[p.off] {
		case ',':
			comma = p.off
			p.off++
			continue
		case '}':
			p.off++
			p.pop()
			return v, nil
		}
		return nil, p.missingComma("the member "+quoteShort(key), end, '}')
	}
}

// find looks key up among v's members, through index when the object has one.
func (p *parser) find(v *value, index map[string]int, key string) (int, bool) {
	if index != nil {
		i, ok := index[key]
		return i, ok
	}
	for i, m := range v.members {
		if m.key == key {
			return i, true
		}
	}
	return 0, false
}

func (p *parser) array() (*value, error) {
	v := &value{kind: arrayKind, pos: p.pos(p.off)}
	if err := p.push('['); err != nil {
		return nil, err
	}
	p.off++
	comma := -1
	for {
		p.skipSpace()
		if p.off >= len(p.data) {
			return nil, p.eof()
		}
		if p.data[p.off] == ']' {
			if comma >= 0 {
				return nil, p.fail(comma, "a comma after the last element of an array", "remove it: JSON allows no trailing comma")
			}
			p.off++
			p.pop()
			return v, nil
		}
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		end := p.pos(p.off - 1)
		v.items = append(v.items, item)
		p.skipSpace()
		if p.off >= len(p.data) {
			return nil, p.eof()
		}
		switch p.data[p.off] {
		case ',':
			comma = p.off
			p.off++
			continue
		case ']':
			p.off++
			p.pop()
			return v, nil
		}
		return nil, p.missingComma(fmt.Sprintf("element %d", len(v.items)), end, ']')
	}
}

// missingComma is the error for what follows a member or element when it is
// neither a comma nor the closing bracket. When it could start a value, a comma
// is what is missing: Pomelo's 0.5 release notes published files like that.
func (p *parser) missingComma(after string, end topology.Pos, closer byte) error {
	msg := fmt.Sprintf("expected ',' or '%c' after %s that ends at %d:%d, found %s", closer, after, end.Line, end.Col, p.token(p.off))
	hint := ""
	switch c := p.data[p.off]; {
	case c == '"' || c == '{' || c == '[' || c == '-' || isDigit(c) || isWordByte(c):
		hint = fmt.Sprintf("a comma is missing after %d:%d", end.Line, end.Col)
	case c == '}' || c == ']':
		o := p.open[len(p.open)-1]
		hint = fmt.Sprintf("the %s opened at %d:%d is closed with '%c'", bracketName(o.bracket), o.pos.Line, o.pos.Col, c)
	}
	return p.fail(p.off, msg, hint)
}

func bracketName(b byte) string {
	if b == '[' {
		return "array"
	}
	return "object"
}

// badKey is the error for an object key that is not a string.
func (p *parser) badKey() error {
	c := p.data[p.off]
	switch {
	case isWordByte(c) || isDigit(c):
		w := p.word(p.off)
		return p.fail(p.off, fmt.Sprintf("expected a key in double quotes, found the word %s", w), fmt.Sprintf("write %q", w))
	case c == '\'':
		return p.fail(p.off, "expected a key in double quotes, found '", "JSON strings are written in double quotes")
	}
	return p.fail(p.off, "expected a key in double quotes, found "+p.token(p.off), hintFor(c))
}

// unexpected is the error for a byte that cannot start what was expected.
func (p *parser) unexpected(want string) error {
	c := p.data[p.off]
	return p.fail(p.off, fmt.Sprintf("expected %s, found %s", want, p.token(p.off)), hintFor(c))
}

// hintFor suggests what the writer meant by a byte that starts no JSON value.
func hintFor(c byte) string {
	switch c {
	case '\'':
		return "JSON strings are written in double quotes"
	case '/', '#':
		return "JSON has no comments: remove it"
	case ',':
		return "an empty element: remove the extra comma"
	case '+', '.':
		return "JSON numbers start with a digit or '-', e.g. 0.5"
	}
	return ""
}

// token describes what starts at off, for an error message.
func (p *parser) token(off int) string {
	if off >= len(p.data) {
		return "the end of the file"
	}
	c := p.data[off]
	switch {
	case c == '"':
		return p.rawString(off)
	case c == '-' || isDigit(c):
		return "the number " + p.word(off)
	case isWordByte(c):
		return "the word " + p.word(off)
	case c < 0x20 || c == 0x7f:
		return fmt.Sprintf("the control character U+%04X", c)
	}
	r, _ := utf8.DecodeRune(p.data[off:])
	return fmt.Sprintf("'%c'", r)
}
