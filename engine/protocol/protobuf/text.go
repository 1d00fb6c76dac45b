package protobuf

import (
	"unicode/utf8"
)

// decodeUTF8 turns bytes into text the way Node's Buffer.toString('utf8')
// does (the WHATWG decoder): each maximal invalid subsequence becomes one
// U+FFFD. Go's own conversion replaces byte by byte, which would make a
// truncated sequence two or three replacement characters where Node makes
// one.
//
// With cesu set, a surrogate pair written as two three-byte sequences (CESU-8)
// is read as the character it stands for. pomelo-protobuf's browser encoder
// writes every UTF-16 code unit separately, so that is how an emoji arrives
// from a browser client; Node would decode it as six U+FFFD.
func decodeUTF8(b []byte, cesu bool) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		if cesu && c == 0xed && i+5 < len(b) && b[i+1]&0xf0 == 0xa0 && b[i+2]&0xc0 == 0x80 &&
			b[i+3] == 0xed && b[i+4]&0xf0 == 0xb0 && b[i+5]&0xc0 == 0x80 {
			hi := rune(b[i+1]&0x0f)<<6 | rune(b[i+2]&0x3f)
			lo := rune(b[i+4]&0x0f)<<6 | rune(b[i+5]&0x3f)
			out = utf8.AppendRune(out, 0x10000+(hi<<10|lo))
			i += 6
			continue
		}
		if r, size := utf8.DecodeRune(b[i:]); r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		// An invalid sequence: skip the lead byte and as many continuation
		// bytes as could still have been part of a valid sequence.
		i += invalidRun(b[i:])
		out = append(out, "\ufffd"...)
	}
	return string(out)
}

// invalidRun returns the length of the maximal subpart at the start of b,
// which does not begin with a valid sequence: a lead byte followed by the
// continuation bytes that were allowed after it, or 1.
func invalidRun(b []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xbf)
	switch c := b[0]; {
	case c >= 0xc2 && c <= 0xdf:
		need = 1
	case c >= 0xe0 && c <= 0xef:
		need = 2
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f
		}
	case c >= 0xf0 && c <= 0xf4:
		need = 3
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f
		}
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xbf
	}
	return n
}
