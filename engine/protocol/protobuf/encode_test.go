package protobuf

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

const chatProtos = `{"onChat":{"required string msg":1,"required string from":2,"required string target":3}}`

// errProtos has a field of every kind, a self-referencing message and a
// field whose type names nothing.
const errProtos = `{
  "r": {
    "required uInt32 u": 1,
    "optional sInt32 s": 2,
    "optional int32 i": 3,
    "optional float f": 4,
    "optional double d": 5,
    "optional string str": 6,
    "repeated uInt32 us": 7,
    "repeated string strs": 8,
    "message M": {"required uInt32 x": 1},
    "optional M m": 9,
    "repeated M ms": 10,
    "optional Missing missing": 11,
    "optional N n": 12,
    "repeated uInt64 longs": 13
  },
  "message N": {"optional N n": 1, "optional uInt32 v": 2}
}`

func TestEncodeErrors(t *testing.T) {
	p := mustParse(t, errProtos)
	tests := []struct {
		name string
		msg  any
		want string // a substring of the error
	}{
		{"required missing", map[string]any{}, `field u (required uInt32): missing`},
		{"required null", map[string]any{"u": nil}, `field u (required uInt32): null`},
		{"string for uInt32", map[string]any{"u": "12"}, `field u (required uInt32): want a number, got the string "12"`},
		{"bool for uInt32", map[string]any{"u": true}, `want a number, got a boolean`},
		{"uInt32 too big", map[string]any{"u": 4294967296.0}, `the number 4294967296 is out of range 0..4294967295`},
		{"uInt32 negative", map[string]any{"u": -1}, `out of range 0..4294967295`},
		{"uInt32 NaN", map[string]any{"u": math.NaN()}, `out of range`},
		{"uInt32 json.Number", map[string]any{"u": json.Number("1e10")}, `the number 1e10 is out of range`},
		{"sInt32 too big", map[string]any{"u": 1, "s": 2147483648.0}, `field s (optional sInt32): the number 2147483648 is out of range -2147483648..2147483647`},
		{"int32 too small", map[string]any{"u": 1, "i": int64(-2147483649)}, `field i (optional int32): the number -2147483649 is out of range`},
		{"float too big", map[string]any{"u": 1, "f": 1e39}, `field f (optional float): the number 1e+39 is out of a float's range`},
		{"string for double", map[string]any{"u": 1, "d": "1.5"}, `field d (optional double): want a number`},
		{"number for string", map[string]any{"u": 1, "str": 5}, `field str (optional string): want a string, got the number 5`},
		{"object for repeated", map[string]any{"u": 1, "us": map[string]any{}}, `field us (repeated uInt32): want an array, got an object`},
		{"string for repeated", map[string]any{"u": 1, "us": "abc"}, `want an array, got the string "abc"`},
		{"null element", map[string]any{"u": 1, "us": []any{1, nil}}, `field us[1] (repeated uInt32): null is not a uInt32`},
		{"bad element", map[string]any{"u": 1, "strs": []any{"a", 1}}, `field strs[1] (repeated string): want a string`},
		{"array for message", map[string]any{"u": 1, "m": []any{}}, `field m (optional M): want an object, got an array`},
		{"nested required", map[string]any{"u": 1, "ms": []any{map[string]any{"x": 1}, map[string]any{}}}, `field ms[1].x (required uInt32): missing`},
		{"nested wrong type", map[string]any{"u": 1, "n": map[string]any{"n": map[string]any{"v": "x"}}}, `field n.n.v (optional uInt32)`},
		{"unknown type", map[string]any{"u": 1, "missing": map[string]any{}}, `field missing (optional Missing): "Missing" is not a scalar type, and no "message Missing"`},
		{"uInt64", map[string]any{"u": 1, "longs": []any{1}}, `cannot write uInt64 values`},
		{"not an object", []any{1}, `the message must be an object, not an array`},
		{"a string", "hello", `the message must be an object, not the string "hello"`},
		{"unmarshalable", map[string]any{"u": 1, "m": func() {}}, `cannot turn a func() into JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := p.AppendEncode(dst, "r", tt.msg)
			if err == nil {
				t.Fatalf("encoded %x, want an error containing %q", out, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `protobuf: encode "r": `) {
				t.Errorf("error %q\nwant it to name the route and contain %q", err, tt.want)
			}
			if string(out) != "keep" {
				t.Errorf("AppendEncode returned %q on error, want dst unchanged", out)
			}
		})
	}
}

func TestEncodeNoRoute(t *testing.T) {
	for _, p := range []*Protos{nil, mustParse(t, chatProtos)} {
		if _, err := p.Encode("onLeave", map[string]any{}); err == nil || !strings.Contains(err.Error(), `"onLeave": no proto for this route`) {
			t.Errorf("Encode of a route without proto: %v", err)
		}
		if _, err := p.Decode("onLeave", nil); err == nil || !strings.Contains(err.Error(), `"onLeave": no proto for this route`) {
			t.Errorf("Decode of a route without proto: %v", err)
		}
	}
}

func TestEncodeAbsentAndEmpty(t *testing.T) {
	p := mustParse(t, errProtos)
	// An absent or null optional field, an unusable field left out, an
	// empty repeated field: none is written.
	out, err := p.Encode("r", map[string]any{"u": 1, "s": nil, "missing": nil, "us": []any{}, "longs": []any{}, "other": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{1 << 3, 1}; !bytes.Equal(out, want) {
		t.Errorf("got %x, want %x", out, want)
	}
	// A nil message is an empty object: fine when nothing is required.
	q := mustParse(t, `{"r":{"optional uInt32 a":1}}`)
	if out, err := q.Encode("r", nil); err != nil || len(out) != 0 {
		t.Errorf("Encode(nil) = %x, %v", out, err)
	}
}

type chatMsg struct {
	Msg    string `json:"msg"`
	From   string `json:"from"`
	Target string `json:"target"`
	Extra  int    `json:"extra"`
}

type myUint uint16

// TestEncodeGoValues checks that Go values other than decoded JSON encode
// as their JSON would.
func TestEncodeGoValues(t *testing.T) {
	chat := mustParse(t, chatProtos)
	want, err := chat.Encode("onChat", map[string]any{"msg": "hi", "from": "a", "target": "*"})
	if err != nil {
		t.Fatal(err)
	}
	for name, msg := range map[string]any{
		"struct":       chatMsg{Msg: "hi", From: "a", Target: "*"},
		"pointer":      &chatMsg{Msg: "hi", From: "a", Target: "*"},
		"map[string]T": map[string]string{"msg": "hi", "from": "a", "target": "*"},
		"RawMessage":   json.RawMessage(`{"msg":"hi","from":"a","target":"*"}`),
	} {
		got, err := chat.Encode("onChat", msg)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %x, %v; want %x", name, got, err, want)
		}
	}

	p := mustParse(t, errProtos)
	want, err = p.Encode("r", map[string]any{"u": 7.0, "us": []any{1.0, 2.0, 300.0}, "ms": []any{map[string]any{"x": 5.0}}, "f": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	type m struct {
		X uint8 `json:"x"`
	}
	got, err := p.Encode("r", map[string]any{"u": myUint(7), "us": []int{1, 2, 300}, "ms": []m{{5}}, "f": float32(0.5)})
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Go-typed values: got %x, %v; want %x", got, err, want)
	}
	var nilPtr *chatMsg
	if _, err := p.Encode("r", map[string]any{"u": 1, "m": nilPtr}); err != nil {
		t.Errorf("a nil pointer for an optional message is absent: %v", err)
	}
}

// TestEncodeDepth feeds a self-referencing proto a cyclic Go value: it must
// stop with an error, not overflow the stack.
func TestEncodeDepth(t *testing.T) {
	p := mustParse(t, errProtos)
	cyclic := map[string]any{}
	cyclic["n"] = cyclic
	_, err := p.Encode("r", map[string]any{"u": 1, "n": cyclic})
	if err == nil || !strings.Contains(err.Error(), "nested more than 100 deep") {
		t.Errorf("cyclic message: %v", err)
	}
	deep := map[string]any{"v": 1}
	for i := 0; i < 98; i++ {
		deep = map[string]any{"n": deep}
	}
	if _, err := p.Encode("r", map[string]any{"u": 1, "n": deep}); err != nil {
		t.Errorf("99 levels deep: %v", err)
	}
}

// TestEncodeBytes pins a few encodings down without Node.
func TestEncodeBytes(t *testing.T) {
	p := mustParse(t, errProtos)
	tests := []struct {
		msg  map[string]any
		want []byte
	}{
		{map[string]any{"u": 300}, []byte{0x08, 0xac, 0x02}},
		{map[string]any{"u": 0, "s": -1, "i": 1}, []byte{0x08, 0, 0x10, 1, 0x18, 2}},
		{map[string]any{"u": 0, "s": -2147483648}, []byte{0x08, 0, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{map[string]any{"u": 0, "f": -2.5}, []byte{0x08, 0, 0x25, 0, 0, 0x20, 0xc0}},
		{map[string]any{"u": 0, "d": 1.0}, []byte{0x08, 0, 0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
		{map[string]any{"u": 0, "us": []any{1, 128}}, []byte{0x08, 0, 0x38, 2, 1, 0x80, 1}},
		{map[string]any{"u": 0, "strs": []any{"a", "bc"}}, []byte{0x08, 0, 0x42, 1, 'a', 0x42, 2, 'b', 'c'}},
		{map[string]any{"u": 0, "ms": []any{map[string]any{"x": 1}}}, []byte{0x08, 0, 0x52, 2, 0x08, 1}},
		{map[string]any{"u": 0, "str": "a\xffb"}, []byte{0x08, 0, 0x32, 5, 'a', 0xef, 0xbf, 0xbd, 'b'}},
	}
	for _, tt := range tests {
		got, err := p.Encode("r", tt.msg)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("Encode(%v) = %x, %v; want %x", tt.msg, got, err, tt.want)
		}
	}
	// A nested message longer than 127 bytes needs a two-byte length,
	// which moves what was already written.
	long := strings.Repeat("x", 200)
	q := mustParse(t, `{"r":{"message M":{"required string s":1},"required M m":1,"required uInt32 after":2}}`)
	got, err := q.Encode("r", map[string]any{"m": map[string]any{"s": long}, "after": 5})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0x0a, 0xcb, 0x01, 0x0a, 0xc8, 0x01}, long...)
	want = append(want, 0x10, 5)
	if !bytes.Equal(got, want) {
		t.Errorf("long nested message:\n got %x\nwant %x", got, want)
	}
}
