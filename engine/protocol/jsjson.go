package protocol

import (
	"unicode/utf8"
)

// This file writes JSON the way JavaScript's JSON.stringify does, because
// Pomelo clients compare dictVersion — an MD5 of that exact text — and
// because encoding/json differs: it escapes < > & and U+2028/U+2029, which
// JSON.stringify leaves alone.

const hexDigits = "0123456789abcdef"

// appendJSString appends s quoted as JSON.stringify quotes a string: only
// '"', '\\' and control characters below 0x20 are escaped, with the short
// forms where JSON has them and lowercase \u00xx otherwise. Bytes that are
// not UTF-8 (a JavaScript string cannot hold them) become U+FFFD so the
// output is always valid JSON.
func appendJSString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = utf8.AppendRune(dst, utf8.RuneError)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// isArrayIndex reports whether a JavaScript engine treats s as an integer
// property key ("array index": the canonical decimal form of a number below
// 2^32-1). Such keys are enumerated first, in ascending numeric order, ahead
// of all other keys in insertion order — which decides JSON.stringify's
// output for a route like "10" in dictionary.json.
func isArrayIndex(s string) (uint32, bool) {
	if len(s) == 0 || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	if v >= 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// jsFalsy reports whether a JSON value is falsy in JavaScript (null, false,
// 0, ""), which is when Pomelo's handshake leaves out "user".
func jsFalsy(v []byte) bool {
	v = trimJSONSpace(v)
	switch string(v) {
	case "", "null", "false", `""`:
		return true
	}
	// A JSON number is zero when its mantissa digits are all zero.
	zero := false
	for i, c := range v {
		switch {
		case c == '-' && i == 0, c == '.':
		case c == '0':
			zero = true
		case c == 'e' || c == 'E':
			return zero
		default:
			return false
		}
	}
	return zero
}

func trimJSONSpace(v []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}
