package protocol

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pomeloctl/pomeloctl/internal/jsjson"
)

// maxRoutes is how many codes fit in the 2-byte code, numbering from 1.
const maxRoutes = 1<<16 - 1

// Dictionary is the route dictionary, built as Pomelo 2.2.7's
// lib/components/dictionary.js builds it, so that its codes and version
// match a Pomelo server with the same handlers and dictionary.json.
//
// A Dictionary is immutable once built and safe for concurrent use.
type Dictionary struct {
	codes   map[string]uint16 // route → code; a duplicate route has its last code, as in JS
	routes  []string          // code-1 → route; every code, duplicates included
	version string
	r2c     []byte // JSON.stringify(dict)
	c2r     []byte // JSON.stringify(abbrs)
}

// NewDictionary numbers handlerRoutes, sorted as JavaScript sorts strings
// (by UTF-16 code units), from 1, then userRoutes (dictionary.json's array)
// in their order after them.
//
// A route given twice behaves as Pomelo's `dict[route] = abbr` does: the
// route keeps the position of its first appearance in the route→code JSON
// but takes the later code, and both codes decode to it.
//
// More than 65535 routes, a route that is not UTF-8, or "__proto__" (which a
// JavaScript object cannot hold as a key, so Pomelo would silently drop it)
// is an error.
func NewDictionary(handlerRoutes, userRoutes []string) (*Dictionary, error) {
	total := len(handlerRoutes) + len(userRoutes)
	if total > maxRoutes {
		return nil, fmt.Errorf("protocol: route dictionary: %d handler and %d dictionary.json routes, but 2-byte codes number at most %d",
			len(handlerRoutes), len(userRoutes), maxRoutes)
	}
	for i, list := range [][]string{handlerRoutes, userRoutes} {
		for _, r := range list {
			if err := checkDictRoute(r); err != nil {
				src := "handler route"
				if i == 1 {
					src = "dictionary.json route"
				}
				return nil, fmt.Errorf("protocol: route dictionary: %s %q: %w", src, r, err)
			}
		}
	}
	sorted := slices.Clone(handlerRoutes)
	slices.SortStableFunc(sorted, compareUTF16)

	d := &Dictionary{codes: make(map[string]uint16, total), routes: make([]string, 0, total)}
	order := make([]string, 0, total) // distinct routes in insertion order
	for _, r := range slices.Concat(sorted, userRoutes) {
		d.routes = append(d.routes, r)
		if _, dup := d.codes[r]; !dup {
			order = append(order, r)
		}
		d.codes[r] = uint16(len(d.routes))
	}
	d.r2c = d.appendRouteToCode(nil, order)
	d.c2r = d.appendCodeToRoute(nil)
	sum := md5.Sum(d.r2c)
	d.version = base64.StdEncoding.EncodeToString(sum[:])
	return d, nil
}

func checkDictRoute(r string) error {
	if !utf8.ValidString(r) {
		return fmt.Errorf("not valid UTF-8")
	}
	if r == "__proto__" {
		return fmt.Errorf("a JavaScript object cannot hold this key, so Pomelo clients could never see it")
	}
	return nil
}

// compareUTF16 orders strings as JavaScript's default sort does. It differs
// from Go's byte order only for characters above U+FFFF, whose surrogates
// sort before U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ha, la := utf16Units(ra)
			hb, lb := utf16Units(rb)
			if ha != hb {
				return int(ha - hb)
			}
			return int(la - lb)
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16Units is r as UTF-16: one code unit (and 0), or a surrogate pair.
func utf16Units(r rune) (rune, rune) {
	if r >= 0x10000 {
		return utf16.EncodeRune(r)
	}
	return r, 0
}

// appendRouteToCode writes the route→code object in JavaScript's key order:
// array-index keys ascending, then the rest in insertion order.
func (d *Dictionary) appendRouteToCode(dst []byte, order []string) []byte {
	dst = append(dst, '{')
	for i, at := range jsjson.Order(order) {
		if i > 0 {
			dst = append(dst, ',')
		}
		r := order[at]
		dst = jsjson.AppendString(dst, r)
		dst = append(dst, ':')
		dst = strconv.AppendUint(dst, uint64(d.codes[r]), 10)
	}
	return append(dst, '}')
}

// appendCodeToRoute writes the code→route object; its keys are all array
// indexes, so JavaScript enumerates them in code order.
func (d *Dictionary) appendCodeToRoute(dst []byte) []byte {
	dst = append(dst, '{')
	for i, r := range d.routes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, int64(i+1), 10)
		dst = append(dst, '"', ':')
		dst = jsjson.AppendString(dst, r)
	}
	return append(dst, '}')
}

// Code returns the route's code. A nil dictionary knows no route.
func (d *Dictionary) Code(route string) (uint16, bool) {
	if d == nil {
		return 0, false
	}
	c, ok := d.codes[route]
	return c, ok
}

// Route returns the route a code stands for.
func (d *Dictionary) Route(code uint16) (string, bool) {
	if d == nil || code == 0 || int(code) > len(d.routes) {
		return "", false
	}
	return d.routes[code-1], true
}

// Len is the number of codes, duplicates included.
func (d *Dictionary) Len() int {
	if d == nil {
		return 0
	}
	return len(d.routes)
}

// Version is Pomelo's dictVersion: base64(MD5(RouteToCodeJSON())).
func (d *Dictionary) Version() string { return d.version }

// RouteToCodeJSON is the route→code object exactly as Pomelo's handshake
// writes it in "dict" and "routeToCode". It returns a copy, so the
// dictionary stays immutable.
func (d *Dictionary) RouteToCodeJSON() []byte { return slices.Clone(d.r2c) }

// CodeToRouteJSON is the code→route object exactly as Pomelo's handshake
// writes it in "codeToRoute". It returns a copy.
func (d *Dictionary) CodeToRouteJSON() []byte { return slices.Clone(d.c2r) }
