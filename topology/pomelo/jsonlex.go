package pomelo

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The scalars of JSON: strings, numbers and the literals true, false and null.

// word is the run of letters, digits and number characters at off.
func (p *parser) word(off int) string {
	end := off
	for end < len(p.data) && end-off < 40 && (isWordByte(p.data[end]) || isDigit(p.data[end]) || strings.IndexByte("+-.", p.data[end]) >= 0) {
		end++
	}
	return string(p.data[off:end])
}

// rawString shows the string that starts at off as written, cut short.
func (p *parser) rawString(off int) string {
	end := off + 1
	for end < len(p.data) && p.data[end] != '"' && p.data[end] != '\n' && end-off < 40 {
		if p.data[end] == '\\' {
			end++
		}
		end++
	}
	end = min(end, len(p.data))
	if end < len(p.data) && p.data[end] == '"' {
		return string(p.data[off : end+1])
	}
	return string(p.data[off:end]) + "…"
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isWordByte reports whether c may start a bare word: true, false, null, or a
// mistake such as an unquoted key or NaN.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func (p *parser) literal() (*value, error) {
	start := p.off
	end := start
	for end < len(p.data) && (isWordByte(p.data[end]) || isDigit(p.data[end])) {
		end++
	}
	w := string(p.data[start:end])
	v := &value{pos: p.pos(start), text: w}
	switch w {
	case "true", "false":
		v.kind = boolKind
	case "null":
		v.kind = nullKind
	default:
		hint := fmt.Sprintf("write strings in double quotes: %q", w)
		switch lw := strings.ToLower(w); {
		case lw == "true" || lw == "false" || lw == "null":
			hint = "JSON's literals are lowercase: " + lw
		case lw == "nan" || lw == "infinity" || lw == "undefined":
			hint = "JSON has no NaN, Infinity or undefined"
		}
		return nil, p.fail(start, "expected a value, found the word "+w, hint)
	}
	p.off = end
	return v, nil
}

// number reads JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() (*value, error) {
	start := p.off
	i := start
	digits := func() int {
		n := 0
		for i < len(p.data) && isDigit(p.data[i]) {
			i++
			n++
		}
		return n
	}
	if p.data[i] == '-' {
		i++
	}
	ok := true
	switch {
	case i < len(p.data) && p.data[i] == '0':
		i++
	case digits() == 0:
		ok = false
	}
	if ok && i < len(p.data) && p.data[i] == '.' {
		i++
		ok = digits() > 0
	}
	if ok && i < len(p.data) && (p.data[i] == 'e' || p.data[i] == 'E') {
		i++
		if i < len(p.data) && (p.data[i] == '+' || p.data[i] == '-') {
			i++
		}
		ok = digits() > 0
	}
	// A number must end where something else starts: "0123", "1.2.3", "12px" are
	// each one malformed number, not a number followed by more.
	if !ok || i < len(p.data) && (isDigit(p.data[i]) || isWordByte(p.data[i]) || p.data[i] == '.') {
		return nil, p.fail(start, fmt.Sprintf("%s is not a JSON number", p.word(start)),
			"write a number such as 12, -3.5 or 1e3 (no leading zeros), or a string in double quotes")
	}
	v := &value{kind: numberKind, pos: p.pos(start), text: string(p.data[start:i])}
	p.off = i
	return v, nil
}

// str reads the string that starts at p.off, decoding escapes. Bytes that are not
// UTF-8 become U+FFFD, as encoding/json does.
func (p *parser) str() (string, error) {
	start := p.off
	i := start + 1
	// The common case: printable ASCII without escapes.
	for i < len(p.data) {
		c := p.data[i]
		if c == '"' {
			p.off = i + 1
			return string(p.data[start+1 : i]), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	var b strings.Builder
	b.Write(p.data[start+1 : i])
	for {
		if i >= len(p.data) {
			s := p.pos(start)
			return "", p.fail(i, fmt.Sprintf("the file ends inside the string that starts at %d:%d", s.Line, s.Col), `close it with "`)
		}
		c := p.data[i]
		switch {
		case c == '"':
			p.off = i + 1
			return b.String(), nil
		case c == '\n' || c == '\r':
			s := p.pos(start)
			return "", p.fail(i, fmt.Sprintf("the string that starts at %d:%d is not closed on its line", s.Line, s.Col),
				`close it with "; a JSON string cannot span lines (write \n for a line break)`)
		case c < 0x20:
			return "", p.fail(i, fmt.Sprintf("a control character (U+%04X) inside a string", c), `escape it, e.g. \t for a tab or \u00XX`)
		case c == '\\':
			n, err := p.escape(i, &b)
			if err != nil {
				return "", err
			}
			i += n
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRune(p.data[i:])
			b.WriteRune(r) // RuneError for a byte that is not UTF-8
			i += size
		}
	}
}

// escape decodes the escape sequence at i into b and returns its length.
func (p *parser) escape(i int, b *strings.Builder) (int, error) {
	if i+1 >= len(p.data) {
		return 0, p.fail(i, "the file ends inside an escape sequence", "")
	}
	switch c := p.data[i+1]; c {
	case '"', '\\', '/':
		b.WriteByte(c)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r, ok := p.hex4(i)
		if !ok {
			return 0, p.fail(i, `\u must be followed by four hexadecimal digits`, `write e.g. \u00e9 for é`)
		}
		if utf16.IsSurrogate(r) {
			// A pair of escapes spells one character beyond U+FFFF; half a pair is
			// not a character, and becomes U+FFFD as in encoding/json.
			if i+7 < len(p.data) && p.data[i+6] == '\\' && p.data[i+7] == 'u' {
				if r2, ok := p.hex4(i + 6); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						b.WriteRune(dec)
						return 12, nil
					}
				}
			}
			r = utf8.RuneError
		}
		b.WriteRune(r)
		return 6, nil
	default:
		r, _ := utf8.DecodeRune(p.data[i+1:])
		return 0, p.fail(i, fmt.Sprintf(`\%c is not a JSON escape`, r), `JSON escapes are \" \\ \/ \b \f \n \r \t and \uXXXX; write \\ for a backslash`)
	}
	return 2, nil
}

// hex4 reads the four hexadecimal digits of the \u escape at i.
func (p *parser) hex4(i int) (rune, bool) {
	if i+6 > len(p.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.data[i+2:i+6]), 16, 16)
	return rune(n), err == nil
}
