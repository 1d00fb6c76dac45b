package protobuf

import (
	"bytes"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestDecodeErrors(t *testing.T) {
	p := mustParse(t, errProtos)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"truncated tag", []byte{0x80}, `message at byte 0: reading a tag: message ends in the middle of a value`},
		{"truncated varint", []byte{0x08, 0x80}, `field u (required uInt32) at byte 1: message ends in the middle`},
		{"varint too long", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 10)...), `varint longer than 10 bytes`},
		{"tag varint too long", bytes.Repeat([]byte{0x80}, 11), `varint longer than 10 bytes`},
		{"truncated float", []byte{0x25, 1, 2, 3}, `field f (optional float) at byte 1: message ends`},
		{"truncated double", []byte{0x29, 1, 2, 3, 4, 5, 6, 7}, `field d (optional double) at byte 1: message ends`},
		{"string past the end", []byte{0x32, 5, 'a', 'b'}, `field str (optional string) at byte 1: length 5 runs past the 2 bytes left`},
		{"huge string length", append([]byte{0x32}, appendVarint(nil, 1<<62)...), `runs past the 0 bytes left`},
		{"message past the end", []byte{0x4a, 3, 0x08}, `field m (optional M) at byte 1: length 3 runs past`},
		{"field past the nested end", []byte{0x4a, 1, 0x08, 0x05}, `field m.x (required uInt32) at byte 3: message ends`},
		{"huge count", append([]byte{0x38}, appendVarint(nil, 1<<40)...), `field us (repeated uInt32) at byte 1: reading the element count: count 1099511627776 needs at least 1 bytes each, 0 bytes left`},
		{"count past the end", []byte{0x38, 3, 1, 2}, `count 3 needs at least 1 bytes each, 2 bytes left`},
		{"truncated element", []byte{0x38, 2, 0x80, 0x80}, `field us[0] (repeated uInt32) at byte 2`},
		{"wire type 3", []byte{0x0b}, `wire type 3 is not one pomelo-protobuf writes`},
		{"wire type 7", []byte{0x0f}, `wire type 7`},
		{"unknown tag", []byte{0xf8, 0x01, 0}, `message at byte 0: tag 31 is not in the proto`},
		{"unknown nested tag", []byte{0x4a, 2, 0x10, 0}, `m at byte 2: tag 2 is not in the proto`},
		{"unknown type", []byte{0x5a, 0}, `field missing (optional Missing) at byte 1: the type is not a scalar type`},
		{"uInt64", []byte{0x68, 1, 1}, `field longs (repeated uInt64) at byte 1: pomelo-protobuf cannot read this type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Decode("r", tt.in)
			if err == nil {
				t.Fatalf("decoded %v, want an error containing %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `protobuf: decode "r": `) {
				t.Errorf("error %q\nwant it to name the route and contain %q", err, tt.want)
			}
		})
	}
}

// TestDecodeTruncations cuts a real message at every byte: each cut either
// decodes (it fell between fields) or fails, and never panics.
func TestDecodeTruncations(t *testing.T) {
	p := mustParse(t, readProtosFiles(t)["lord/server"])
	msg := decodeMsg(t, encodeCases[7].msg) // onAttack
	b, err := p.Encode("onAttack", msg)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for n := 0; n < len(b); n++ {
		if _, err := p.Decode("onAttack", b[:n]); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no truncation of onAttack failed to decode")
	}
}

// TestDecodeHugeCountAllocation checks that a length prefix promising more
// than the input holds is refused before anything is allocated for it.
func TestDecodeHugeCountAllocation(t *testing.T) {
	p := mustParse(t, errProtos)
	in := append([]byte{0x38}, appendVarint(nil, 1<<31)...)
	in = append(in, bytes.Repeat([]byte{1}, 1000)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		if _, err := p.Decode("r", in); err == nil {
			t.Fatal("decoded a count of 2^31 from 1000 bytes")
		}
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
		t.Errorf("10 refused decodes allocated %d bytes", grown)
	}
}

func TestDecodeDepth(t *testing.T) {
	p := mustParse(t, errProtos)
	nest := func(levels int) []byte {
		b := []byte{0x10, 7} // v: 7
		for i := 0; i < levels; i++ {
			b = append(append([]byte{0x0a}, appendVarint(nil, uint64(len(b)))...), b...)
		}
		return append(append([]byte{0x62}, appendVarint(nil, uint64(len(b)))...), b...) // r.n
	}
	if _, err := p.Decode("r", nest(98)); err != nil {
		t.Errorf("99 levels deep: %v", err)
	}
	_, err := p.Decode("r", nest(150))
	if err == nil || !strings.Contains(err.Error(), "messages nested more than 100 deep") {
		t.Errorf("151 levels deep: %v", err)
	}
}

// TestDecodeValues pins decoding down without Node, including what only the
// browser build writes: integers with wire type 2.
func TestDecodeValues(t *testing.T) {
	p := mustParse(t, errProtos)
	tests := []struct {
		in   []byte
		want map[string]any
	}{
		{nil, map[string]any{}},
		{[]byte{0x08, 0xac, 0x02}, map[string]any{"u": 300.0}},
		{[]byte{0x0a, 0xac, 0x02}, map[string]any{"u": 300.0}}, // wire type 2
		{[]byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, map[string]any{"u": float64(math.MaxUint64)}},
		{[]byte{0x10, 1, 0x18, 2, 0x1a, 3}, map[string]any{"s": -1.0, "i": -2.0}}, // last one wins
		{[]byte{0x25, 0, 0, 0x20, 0xc0, 0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, map[string]any{"f": -2.5, "d": 1.0}},
		{[]byte{0x38, 2, 1, 2, 0x38, 1, 3}, map[string]any{"us": []any{1.0, 2.0, 3.0}}}, // groups add up
		{[]byte{0x38, 0}, map[string]any{"us": []any{}}},
		{[]byte{0x42, 1, 'a', 0x42, 0}, map[string]any{"strs": []any{"a", ""}}},
		{[]byte{0x52, 2, 0x08, 1, 0x52, 0}, map[string]any{"ms": []any{map[string]any{"x": 1.0}, map[string]any{}}}},
		{[]byte{0x32, 6, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}, map[string]any{"str": "😀"}}, // CESU-8
	}
	for _, tt := range tests {
		got, err := p.Decode("r", tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Decode(%x) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestDecodeHiddenField: a field named __proto__ is no property in
// JavaScript; its tag still reads a value, which is dropped.
func TestDecodeHiddenField(t *testing.T) {
	p := mustParse(t, `{"r":{"required string __proto__":1,"required uInt32 a":2}}`)
	got, err := p.Decode("r", []byte{0x0a, 1, 'x', 0x10, 3})
	if err != nil || !reflect.DeepEqual(got, map[string]any{"a": 3.0}) {
		t.Errorf("got %v, %v", got, err)
	}
	if out, err := p.Encode("r", map[string]any{"a": 3, "__proto__": "x"}); err != nil || !bytes.Equal(out, []byte{0x10, 3}) {
		t.Errorf("Encode = %x, %v", out, err)
	}
}
