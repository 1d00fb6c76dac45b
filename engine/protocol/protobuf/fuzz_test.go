package protobuf

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// fuzzProtos is every protos file the tests know, as one set, so that
// FuzzDecode can aim at any of their routes.
func fuzzProtos(f *testing.F) (*Protos, []string) {
	f.Helper()
	var routes []string
	merged := map[string]json.RawMessage{}
	texts := []string{errProtos}
	for _, name := range []string{"lord/server", "lord/client", "chat/server", "types", "quirks"} {
		texts = append(texts, string(must(os.ReadFile(protosFiles[name]))))
	}
	for _, text := range texts {
		b := []byte(text)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			f.Fatal(err)
		}
		for k, v := range m {
			merged[k] = v
		}
	}
	b, err := json.Marshal(merged)
	if err != nil {
		f.Fatal(err)
	}
	p, err := Parse(b)
	if err != nil {
		f.Fatal(err)
	}
	return p, append(routes, p.routes.keys...)
}

// FuzzDecode feeds the decoder arbitrary bytes for every route: it must
// answer with a message or an error, never panic, and what it decodes and
// can encode again must keep its bytes from then on.
func FuzzDecode(f *testing.F) {
	p, routes := fuzzProtos(f)
	for i, ec := range encodeCases {
		q := mustParse(f, string(must(os.ReadFile(protosFiles[ec.protos]))))
		if b, err := q.Encode(ec.route, decodeMsg(f, ec.msg)); err == nil {
			f.Add(uint8(indexOf(routes, ec.route)), b)
		}
		f.Add(uint8(i), []byte{0x38, 0xff, 0xff, 0xff, 0xff, 0x0f, 1})
	}
	f.Add(uint8(0), []byte{0x0a, 0x80, 0x80, 0x80, 0x80, 0x10})
	f.Add(uint8(0), []byte{0x0b})
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		route := routes[int(which)%len(routes)]
		msg, err := p.Decode(route, data)
		if err != nil {
			return
		}
		once, err := p.Encode(route, msg)
		if err != nil {
			return // a decoded message may lack required fields, or hold values out of range
		}
		again, err := p.Decode(route, once)
		if err != nil {
			t.Fatalf("cannot decode what we encoded from a decoded message: %v\n%x", err, once)
		}
		twice, err := p.Encode(route, again)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("re-encoding changed the bytes: %v\n%x\n%x", err, once, twice)
		}
	})
}

// FuzzParse feeds the parser arbitrary files: it must answer with protos or
// an error, never panic; protos it accepts write valid JSON and survive
// encoding and decoding attempts on every route.
func FuzzParse(f *testing.F) {
	for _, file := range protosFiles {
		f.Add(must(os.ReadFile(file)))
	}
	f.Add([]byte(errProtos))
	f.Add([]byte(`{"r":{"required uInt32 a":"0x10","message M":{"optional M m":1},"optional M m":2,"repeated uInt32 b":1e400}}`))
	f.Add([]byte("\xef\xbb\xbf{\"\xff\":{\"required string \xe2\x82\":1}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("protos and an error")
			}
			return
		}
		if !json.Valid(p.JSON()) {
			t.Fatalf("invalid JSON: %s", p.JSON())
		}
		_ = Version(p, p)
		for _, route := range p.routes.keys {
			_, _ = p.Encode(route, map[string]any{"a": 1, "b": []any{1}, "m": map[string]any{"m": map[string]any{}}})
			_, _ = p.Decode(route, data)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return 0
}
