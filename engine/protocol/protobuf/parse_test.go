package protobuf

import (
	"math"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, "protos file is not valid JSON"},
		{`{"a":{}`, "protos file is not valid JSON"},
		{`{"a":{}} {}`, "unexpected data after the top-level value"},
		{`{"a":{}} x`, "not valid JSON"},
		{`[]`, "must be a JSON object of routes, not an array"},
		{`"x"`, "not a string"},
		{`{"onChat":1}`, `"onChat" must be a JSON object of fields, not a number`},
		{`{"onChat":{},"onAdd":[]}`, `"onAdd" must be a JSON object of fields, not an array`},
		{`{"__proto__":null}`, `"__proto__" must be a JSON object of fields, not null`},
		{strings.Repeat(`{"message a":`, 1001) + `{}` + strings.Repeat(`}`, 1001), "nested more than 1000 levels deep"},
	}
	for _, tt := range tests {
		if _, err := Parse([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%.40q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

// TestParseQuirks pins down, without Node, what the interop tests prove
// against it: pomelo-protobuf's parser's silent choices.
func TestParseQuirks(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, `{}`},
		{"\xef\xbb\xbf{}", `{}`}, // Node's require drops a byte order mark
		{`{"r":{}}`, `{"r":{"__messages":{},"__tags":{}}}`},
		// Malformed keys are skipped; a second field on a tag is skipped.
		{`{"r":{"required uInt32 a":1,"required  uInt32 b":2,"required c":3,"bogus uInt32 d":4,"optional string e":1,"message":{}}}`,
			`{"r":{"a":{"option":"required","type":"uInt32","tag":1},"__messages":{},"__tags":{"1":"a"}}}`},
		// Array-index keys come first, numerically; duplicate JSON keys keep
		// the first place and the last value.
		{`{"b":{},"10":{},"a":{},"2":{},"b":{"required uInt32 x":1}}`,
			`{"2":{"__messages":{},"__tags":{}},"10":{"__messages":{},"__tags":{}},"b":{"x":{"option":"required","type":"uInt32","tag":1},"__messages":{},"__tags":{"1":"x"}},"a":{"__messages":{},"__tags":{}}}`},
		// A field named "" does not block its tag for the next field.
		{`{"r":{"required uInt32 ":1,"required uInt32 b":1}}`,
			`{"r":{"":{"option":"required","type":"uInt32","tag":1},"b":{"option":"required","type":"uInt32","tag":1},"__messages":{},"__tags":{"1":"b"}}}`},
		// A tag named like an Object.prototype property is always "taken".
		{`{"r":{"required uInt32 a":"toString","required uInt32 b":"x"}}`,
			`{"r":{"b":{"option":"required","type":"uInt32","tag":"x"},"__messages":{},"__tags":{"x":"b"}}}`},
		// __proto__ never becomes a property; __messages and __tags fields
		// are overwritten in place.
		{`{"__proto__":{},"r":{"required uInt32 __tags":1,"required uInt32 __proto__":2,"message __proto__":{},"message M":5}}`,
			`{"r":{"__tags":{"1":"__tags","2":"__proto__"},"__messages":{"M":{"__messages":{},"__tags":{}}}}}`},
		// Numbers as JavaScript writes them.
		{`{"r":{"required uInt32 a":1E21,"required uInt32 b":1e-7,"required uInt32 c":-0,"required uInt32 d":1e400,"required uInt32 e":100e-2}}`,
			`{"r":{"a":{"option":"required","type":"uInt32","tag":1e+21},"b":{"option":"required","type":"uInt32","tag":1e-7},"c":{"option":"required","type":"uInt32","tag":0},"d":{"option":"required","type":"uInt32","tag":null},"e":{"option":"required","type":"uInt32","tag":1},"__messages":{},"__tags":{"0":"c","1":"e","1e+21":"a","1e-7":"b","Infinity":"d"}}}`},
		// Strings as JSON.stringify escapes them, which is not encoding/json's way.
		{`{"<&>\u2028\u0001\u001f\"\\/é":{}}`, `{"<&>` + "\u2028" + `\u0001\u001f\"\\/é":{"__messages":{},"__tags":{}}}`},
	}
	for _, tt := range tests {
		p, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.in, err)
			continue
		}
		if got := string(p.JSON()); got != tt.want {
			t.Errorf("Parse(%s).JSON()\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestHas(t *testing.T) {
	var nilProtos *Protos
	if nilProtos.Has("onChat") || string(nilProtos.JSON()) != "{}" {
		t.Error("a nil *Protos is not an empty set")
	}
	p := mustParse(t, `{"onChat":{},"__proto__":{},"message Foo":{}}`)
	for route, want := range map[string]bool{"onChat": true, "__proto__": false, "message Foo": true, "onAdd": false, "": false} {
		if got := p.Has(route); got != want {
			t.Errorf("Has(%q) = %v", route, got)
		}
	}
	// JSON hands out a copy.
	p.JSON()[0] = 'x'
	if p.JSON()[0] != '{' {
		t.Error("JSON's result aliases the parsed form")
	}
}

func TestVersion(t *testing.T) {
	chat := mustParse(t, chatProtos)
	empty := mustParse(t, `{}`)
	// base64(md5("{}{}")), as Pomelo computes it for two empty files.
	if got := Version(empty, empty); got != "xT9OvpsqULwrUv2IpdUD4Q==" {
		t.Errorf("Version({}, {}) = %q", got)
	}
	if Version(nil, chat) != Version(empty, chat) || Version(chat, nil) != Version(chat, empty) {
		t.Error("an absent file does not count as {}")
	}
	if got := Version(nil, nil); got != "" {
		t.Errorf("Version(nil, nil) = %q, want Pomelo's \"\"", got)
	}
	want := `{"server":{"onChat":{"msg":{"option":"required","type":"string","tag":1},"from":{"option":"required","type":"string","tag":2},"target":{"option":"required","type":"string","tag":3},"__messages":{},"__tags":{"1":"msg","2":"from","3":"target"}}},"client":{},"version":"` + Version(nil, chat) + `"}`
	if got := string(HandshakeProtos(nil, chat)); got != want {
		t.Errorf("HandshakeProtos\n got %s\nwant %s", got, want)
	}
	if got := string(HandshakeProtos(nil, nil)); got != `{"server":{},"client":{},"version":""}` {
		t.Errorf("HandshakeProtos(nil, nil) = %s", got)
	}
}

func TestJSNumber(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-1.5, "-1.5"}, {100, "100"}, {0.1, "0.1"},
		{1e21, "1e+21"}, {1e20, "100000000000000000000"}, {123456789012345680000, "123456789012345680000"},
		{1e-7, "1e-7"}, {1.5e-7, "1.5e-7"}, {0.000001, "0.000001"}, {1.23e-18, "1.23e-18"},
		{5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"}, {4294967295, "4294967295"},
		{math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"}, {math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := string(appendJSNumber(nil, tt.x)); got != tt.want {
			t.Errorf("appendJSNumber(%v) = %s, want %s", tt.x, got, tt.want)
		}
	}
}

func TestJSToNumber(t *testing.T) {
	tests := []struct {
		s    string
		want float64
	}{
		{"", 0}, {" 12 ", 12}, {"\u00a0\t1.5\n", 1.5}, {"0x1f", 31}, {"0b101", 5}, {"0o17", 15},
		{"-0x1", math.NaN()}, {"1e3", 1000}, {".5", 0.5}, {"5.", 5}, {"+3", 3}, {"-Infinity", math.Inf(-1)},
		{"inf", math.NaN()}, {"1_000", math.NaN()}, {"0x", math.NaN()}, {"1e", math.NaN()}, {"abc", math.NaN()},
		{"--1", math.NaN()}, {"0x1p3", math.NaN()},
	}
	for _, tt := range tests {
		got := stringToNumber(tt.s)
		if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("stringToNumber(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
	for x, want := range map[float64]int32{1.9: 1, -1.9: -1, 4294967295: -1, 4294967296: 0, 2147483648: -2147483648, 1e21: -559939584} {
		if got := jsToInt32(x); got != want {
			t.Errorf("jsToInt32(%v) = %d, want %d", x, got, want)
		}
	}
}

func TestDecodeUTF8(t *testing.T) {
	tests := []struct {
		in   string
		cesu bool
		want string
	}{
		{"plain é", false, "plain é"},
		{"\xe2\x82A", false, "\ufffdA"},
		{"a\xf0\x9f\x98", false, "a\ufffd"},
		{"\xc0\x80", false, "\ufffd\ufffd"},
		{"\xed\xa0\x80", false, "\ufffd\ufffd\ufffd"},
		{"\xed\xa0\xbd\xed\xb8\x80", false, strings.Repeat("\ufffd", 6)},
		{"\xed\xa0\xbd\xed\xb8\x80!", true, "😀!"},
		{"\xed\xa0\xbd!", true, "\ufffd\ufffd\ufffd!"},
		{"\xf4\x90\x80\x80", false, "\ufffd\ufffd\ufffd\ufffd"},
		{"\xe0\xa0", false, "\ufffd"},
	}
	for _, tt := range tests {
		if got := decodeUTF8([]byte(tt.in), tt.cesu); got != tt.want {
			t.Errorf("decodeUTF8(%q, %v) = %q, want %q", tt.in, tt.cesu, got, tt.want)
		}
	}
}
