package protocol

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
