package protobuf

import (
	"math"
	"strconv"
	"strings"

	"github.com/pomeloctl/pomeloctl/internal/jsjson"
)

// appendJSNumber appends x as JavaScript's Number::toString writes it: the
// shortest digits that read back as x, in plain notation from 1e-7 up to
// 1e21 and in exponent notation ("1e+21", "1.5e-7") outside that range.
func appendJSNumber(dst []byte, x float64) []byte {
	switch {
	case math.IsNaN(x):
		return append(dst, "NaN"...)
	case math.IsInf(x, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(x, -1):
		return append(dst, "-Infinity"...)
	case x == 0:
		return append(dst, '0') // -0 too
	case x < 0:
		dst = append(dst, '-')
		x = -x
	}
	// strconv's shortest form is the same digit string the ECMAScript
	// algorithm asks for; only the layout differs.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], x, 'e', -1, 64)
	mant, exp, _ := strings.Cut(string(e), "e")
	digits := strings.Replace(mant, ".", "", 1)
	k := len(digits)
	p, _ := strconv.Atoi(exp)
	n := p + 1 // x = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for i := 0; i < n-k; i++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		for i := 0; i < -n; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// appendJSONNumber is JSON.stringify's form of a number: non-finite numbers
// become null.
func appendJSONNumber(dst []byte, x float64) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(dst, "null"...)
	}
	return appendJSNumber(dst, x)
}

// appendJSON appends v as JSON.stringify writes it.
func appendJSON(dst []byte, v jsValue) []byte {
	switch v.kind {
	case jsNull:
		return append(dst, "null"...)
	case jsBool:
		return strconv.AppendBool(dst, v.b)
	case jsNumber:
		return appendJSONNumber(dst, v.n)
	case jsString:
		return jsjson.AppendString(dst, v.s)
	case jsArray:
		dst = append(dst, '[')
		for i, e := range v.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, e)
		}
		return append(dst, ']')
	}
	dst = append(dst, '{')
	for i, k := range v.obj.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsjson.AppendString(dst, k)
		dst = append(dst, ':')
		dst = appendJSON(dst, v.obj.vals[i])
	}
	return append(dst, '}')
}

// jsToString is JavaScript's String(v), which is what a value becomes when it
// is used as a property key (tags[tag] in pomelo-protobuf's parser).
func jsToString(v jsValue) string {
	switch v.kind {
	case jsNull:
		return "null"
	case jsBool:
		return strconv.FormatBool(v.b)
	case jsNumber:
		return string(appendJSNumber(nil, v.n))
	case jsString:
		return v.s
	case jsArray:
		// Array.prototype.join: null and undefined elements are empty.
		var b strings.Builder
		for i, e := range v.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			if e.kind != jsNull {
				b.WriteString(jsToString(e))
			}
		}
		return b.String()
	}
	return "[object Object]"
}

// jsToNumber is JavaScript's Number(v), which is what pomelo-protobuf's
// `tag << 3` does to a tag before shifting it.
func jsToNumber(v jsValue) float64 {
	switch v.kind {
	case jsNull:
		return 0
	case jsBool:
		if v.b {
			return 1
		}
		return 0
	case jsNumber:
		return v.n
	case jsString:
		return stringToNumber(v.s)
	case jsArray:
		return stringToNumber(jsToString(v))
	}
	return math.NaN()
}

// stringToNumber is ECMAScript's StringToNumber: surrounding white space is
// ignored, "" is 0, and besides decimals it reads Infinity and 0x/0o/0b
// integers; anything else is NaN.
func stringToNumber(s string) float64 {
	s = strings.TrimFunc(s, isJSSpace)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			n := 0.0
			for _, c := range s[2:] {
				d := digitValue(c)
				if d >= base {
					return math.NaN()
				}
				n = n*float64(base) + float64(d)
			}
			return n
		}
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return math.NaN()
	}
	if body == "Infinity" {
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if !isDecimalLiteral(body) {
		return math.NaN()
	}
	f, _ := strconv.ParseFloat(s, 64) // range errors give ±Inf or 0, as in JavaScript
	return f
}

func digitValue(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// isDecimalLiteral checks ECMAScript's unsigned StrDecimalLiteral grammar,
// which is narrower than what strconv.ParseFloat accepts (no "inf", no hex
// floats, no underscores).
func isDecimalLiteral(s string) bool {
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == exp {
			return false
		}
	}
	return i == len(s)
}

// isJSSpace is ECMAScript's WhiteSpace and LineTerminator.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// jsToInt32 is ECMAScript's ToInt32: truncate, wrap modulo 2^32.
func jsToInt32(x float64) int32 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	x = math.Trunc(x)
	m := math.Mod(x, 1<<32)
	if m < 0 {
		m += 1 << 32
	}
	return int32(uint32(m))
}
