package pomelo

import (
	"math"
	"strconv"
	"strings"

	"github.com/pomeloctl/pomeloctl/topology"
)

// kind is the JSON type of a value.
type kind uint8

const (
	nullKind kind = iota
	boolKind
	numberKind
	stringKind
	arrayKind
	objectKind
)

// value is one parsed JSON value and where it starts. Objects keep their members in
// the order the file writes them: Pomelo's server types, cluster groups and proto
// fields are ordered, and a map would lose that.
type value struct {
	kind    kind
	pos     topology.Pos
	text    string // a string's contents, a number as written, true, false or null
	items   []*value
	members []*member
}

// member is one key of an object and its value.
type member struct {
	key    string
	keyPos topology.Pos
	val    *value
}

// get returns the member named key, or nil. The parser keeps one member per key.
func (v *value) get(key string) *member {
	for _, m := range v.members {
		if m.key == key {
			return m
		}
	}
	return nil
}

// describe names the value for a message: its type, and its text when short.
func (v *value) describe() string {
	switch v.kind {
	case nullKind:
		return "null"
	case boolKind:
		return "the boolean " + v.text
	case numberKind:
		return "the number " + v.text
	case stringKind:
		return quoteShort(v.text)
	case arrayKind:
		return "an array"
	}
	return "an object"
}

// quoteShort quotes s, cut to a length that fits in a message.
func quoteShort(s string) string {
	const limit = 40
	if r := []rune(s); len(r) > limit {
		return strconv.Quote(string(r[:limit])) + "…"
	}
	return strconv.Quote(s)
}

// boolean reads true or false, or the strings "true" and "false": Pomelo's files
// often quote them, and JavaScript's truthiness does not care.
func (v *value) boolean() (b, ok bool) {
	if v.kind != boolKind && v.kind != stringKind {
		return false, false
	}
	switch v.text {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// maxExactInt is the largest whole number a JavaScript number holds exactly.
const maxExactInt = 1 << 53

// integer reads a whole number, or a string of one ("3150"): Node passes either to
// the socket calls Pomelo makes. 3150.0 is 3150 in JavaScript, and so here.
func (v *value) integer() (int, bool) {
	switch v.kind {
	case numberKind:
		return wholeNumber(v.text)
	case stringKind:
		if n, err := strconv.Atoi(v.text); err == nil && exact(n) {
			return n, true
		}
	}
	return 0, false
}

func exact(n int) bool { return n > -maxExactInt && n < maxExactInt }

// wholeNumber reads a JSON number's text when it is a whole number a JavaScript
// number holds exactly.
func wholeNumber(text string) (int, bool) {
	if n, err := strconv.Atoi(text); err == nil && exact(n) {
		return n, true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= maxExactInt {
		return 0, false
	}
	return int(f), true
}

// scalarText is a string, number or boolean as text, for values such as ids and
// hosts that Pomelo uses as strings whatever the file wrote.
func (v *value) scalarText() (string, bool) {
	switch v.kind {
	case stringKind, numberKind, boolKind:
		return v.text, true
	}
	return "", false
}

// isEmpty reports whether v is {} or [].
func (v *value) isEmpty() bool {
	return (v.kind == objectKind && len(v.members) == 0) || (v.kind == arrayKind && len(v.items) == 0)
}

// andList joins names as "a", "a and b" or "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
