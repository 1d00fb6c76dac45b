package protobuf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/pomeloctl/pomeloctl/internal/jsjson"
)

// jsKind is the type of a JavaScript value that JSON.parse can produce.
type jsKind uint8

const (
	jsNull jsKind = iota
	jsBool
	jsNumber
	jsString
	jsArray
	jsObject
)

// jsValue is a value as JSON.parse builds it. The parser needs JavaScript's
// view rather than Go's because the parsed protos are written back with
// JSON.stringify semantics: object keys in JavaScript's order, duplicate keys
// collapsed, numbers as doubles.
type jsValue struct {
	kind jsKind
	b    bool
	n    float64
	s    string
	arr  []jsValue
	obj  *jsObj
}

// jsObj is a JavaScript object's own properties in the order JavaScript
// enumerates them: array-index keys ascending, then the rest in the order
// they were first set.
type jsObj struct {
	keys []string
	vals []jsValue
}

// orderedSet collects the properties of an object being built, with
// JavaScript's assignment semantics: setting a key again replaces its value
// but keeps its place.
type orderedSet[V any] struct {
	keys  []string
	vals  []V
	index map[string]int
}

func (s *orderedSet[V]) set(key string, v V) {
	if i, ok := s.index[key]; ok {
		s.vals[i] = v
		return
	}
	if s.index == nil {
		s.index = make(map[string]int)
	}
	s.index[key] = len(s.keys)
	s.keys = append(s.keys, key)
	s.vals = append(s.vals, v)
}

func (s *orderedSet[V]) get(key string) (V, bool) {
	i, ok := s.index[key]
	if !ok {
		var zero V
		return zero, false
	}
	return s.vals[i], true
}

// jsOrder returns the positions of s's keys in JavaScript's property order.
func (s *orderedSet[V]) jsOrder() []int { return jsjson.Order(s.keys) }

// maxJSONDepth bounds the nesting of a protos file. Real files nest a handful
// of levels; the bound keeps a hostile file from exhausting the stack.
const maxJSONDepth = 1000

var errTooDeep = errors.New("nested more than 1000 levels deep")

// parseJS reads one JSON document the way Node's require does for a .json
// file: a leading byte order mark is dropped, invalid UTF-8 is replaced as
// Node's decoder replaces it, and the result has JavaScript's object
// semantics. The syntax check itself is encoding/json's.
func parseJS(data []byte) (jsValue, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		data = []byte(decodeUTF8(data, false))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJS(dec, 0)
	if err == nil {
		if _, err = dec.Token(); err == nil {
			err = errors.New("unexpected data after the top-level value")
		} else if err == io.EOF {
			return v, nil
		}
	}
	off := dec.InputOffset()
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		off = syn.Offset
	}
	line, col := position(data, off)
	return jsValue{}, fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// position turns a byte offset into a 1-based line and column (in bytes),
// for an operator looking for the mistake in an editor.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func readJS(dec *json.Decoder, depth int) (jsValue, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return jsValue{}, err
	}
	switch t := tok.(type) {
	case nil:
		return jsValue{kind: jsNull}, nil
	case bool:
		return jsValue{kind: jsBool, b: t}, nil
	case json.Number:
		// A literal too large for a double is Infinity in JavaScript, which
		// ParseFloat also returns (with ErrRange, which is not a syntax error).
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return jsValue{}, fmt.Errorf("number %s: %w", t, err)
		}
		return jsValue{kind: jsNumber, n: f}, nil
	case string:
		return jsValue{kind: jsString, s: t}, nil
	case json.Delim:
		if depth >= maxJSONDepth {
			return jsValue{}, errTooDeep
		}
		if t == '[' {
			var arr []jsValue
			for dec.More() {
				v, err := readJS(dec, depth+1)
				if err != nil {
					return jsValue{}, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return jsValue{}, err
			}
			return jsValue{kind: jsArray, arr: arr}, nil
		}
		var set orderedSet[jsValue]
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return jsValue{}, err
			}
			key, _ := kt.(string) // the decoder allows only strings here
			v, err := readJS(dec, depth+1)
			if err != nil {
				return jsValue{}, err
			}
			set.set(key, v)
		}
		if _, err := dec.Token(); err != nil {
			return jsValue{}, err
		}
		obj := &jsObj{keys: make([]string, 0, len(set.keys)), vals: make([]jsValue, 0, len(set.keys))}
		for _, i := range set.jsOrder() {
			obj.keys = append(obj.keys, set.keys[i])
			obj.vals = append(obj.vals, set.vals[i])
		}
		return jsValue{kind: jsObject, obj: obj}, nil
	}
	return jsValue{}, fmt.Errorf("unexpected token %v", tok)
}

// typeName names v's type for an error message.
func (v jsValue) typeName() string {
	switch v.kind {
	case jsNull:
		return "null"
	case jsBool:
		return "a boolean"
	case jsNumber:
		return "a number"
	case jsString:
		return "a string"
	case jsArray:
		return "an array"
	}
	return "an object"
}
