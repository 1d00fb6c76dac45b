// Package jsjson writes JSON exactly as JavaScript's JSON.stringify does, where
// Pomelo's clients compare an MD5 of that text (the route dictionary's and the
// protos' versions): encoding/json escapes <, >, & and U+2028/U+2029, which
// JSON.stringify leaves alone, and JavaScript objects list integer-like keys
// first.
package jsjson

import (
	"cmp"
	"slices"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s quoted as JSON.stringify quotes a string: only
// '"', '\\' and control characters below 0x20 are escaped, with the short
// forms where JSON has them and lowercase \u00xx otherwise. Bytes that are
// not UTF-8 (a JavaScript string cannot hold them) become U+FFFD so the
// output is always valid JSON.
func AppendString(dst []byte, s string) []byte {
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

// ArrayIndex reports whether a JavaScript engine treats s as an integer
// property key ("array index": the canonical decimal form of a number below
// 2^32-1). Such keys are enumerated first, in ascending numeric order, ahead
// of all other keys in insertion order — which decides JSON.stringify's
// output for a route like "10" in dictionary.json.
func ArrayIndex(s string) (uint32, bool) {
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

// Order returns the positions of keys in the order a JavaScript object lists
// its properties (and so JSON.stringify writes them): array-index keys first,
// ascending, then the others in insertion order.
func Order(keys []string) []int {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	// A stable sort keeps insertion order among the non-index keys.
	slices.SortStableFunc(order, func(a, b int) int {
		ia, aok := ArrayIndex(keys[a])
		ib, bok := ArrayIndex(keys[b])
		switch {
		case aok && bok:
			return cmp.Compare(ia, ib)
		case aok:
			return -1
		case bok:
			return 1
		}
		return 0
	})
	return order
}
