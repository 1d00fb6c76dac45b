package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Hand-computed vectors. With chatDict: chat.chatHandler.echo 1,
// chat.chatHandler.send 2, connector.entryHandler.enter 3,
// gate.gateHandler.queryEntry 4, then dictionary.json's onDropItem 5 …
// onPathCheckout 14.
func TestMessageGolden(t *testing.T) {
	dict := chatDict(t)
	body := []byte(`{"a":1}`)
	b := hx("7b 22 61 22 3a 31 7d")
	tests := []struct {
		name string
		m    Message
		dict RouteCodes
		want []byte
	}{
		{"request id 0", Message{Type: Request, ID: 0, Route: "a.b", Body: body}, nil, cat(hx("00 00 03 61 2e 62"), b)},
		{"request id 127", Message{Type: Request, ID: 127, Route: "a.b", Body: body}, nil, cat(hx("00 7f 03 61 2e 62"), b)},
		{"request id 128", Message{Type: Request, ID: 128, Route: "a.b", Body: body}, nil, cat(hx("00 80 01 03 61 2e 62"), b)},
		{"request id 16384", Message{Type: Request, ID: 16384, Route: "a.b", Body: body}, nil, cat(hx("00 80 80 01 03 61 2e 62"), b)},
		{"request id 2^32", Message{Type: Request, ID: 1 << 32, Route: "a.b", Body: body}, nil, cat(hx("00 80 80 80 80 10 03 61 2e 62"), b)},
		{"request, route compressed", Message{Type: Request, ID: 128, Route: "connector.entryHandler.enter", Body: body}, dict, cat(hx("01 80 01 00 03"), b)},
		{"request, route not in dict", Message{Type: Request, ID: 1, Route: "a.b", Body: body}, dict, cat(hx("00 01 03 61 2e 62"), b)},
		{"request, empty route and body", Message{Type: Request, ID: 1}, nil, hx("00 01 00")},
		{"notify", Message{Type: Notify, Route: "chat.chatHandler.send", Body: body}, nil, cat(hx("02 15"), []byte("chat.chatHandler.send"), b)},
		{"notify, route compressed", Message{Type: Notify, Route: "chat.chatHandler.send", Body: body}, dict, cat(hx("03 00 02"), b)},
		{"response id 0", Message{Type: Response, ID: 0, Body: body}, nil, cat(hx("04 00"), b)},
		{"response id 16384", Message{Type: Response, ID: 16384, Body: body}, dict, cat(hx("04 80 80 01"), b)},
		{"response id 2^32, empty body", Message{Type: Response, ID: 1 << 32}, nil, hx("04 80 80 80 80 10")},
		{"push", Message{Type: Push, Route: "onChat", Body: body}, nil, cat(hx("06 06 6f 6e 43 68 61 74"), b)},
		{"push, route compressed", Message{Type: Push, Route: "onAttack", Body: body}, dict, cat(hx("07 00 06"), b)},
		{"push, last code", Message{Type: Push, Route: "onPathCheckout"}, dict, hx("07 00 0e")},
		{"push, 255-byte route", Message{Type: Push, Route: strings.Repeat("r", 255)}, nil, cat(hx("06 ff"), []byte(strings.Repeat("r", 255)))},
		{"push, code over 255", Message{Type: Push, Route: "r.h.m257"}, bigDict(t), hx("07 01 02")},
	}
	for _, tt := range tests {
		got, err := AppendMessage(hx("ee"), &tt.m, tt.dict)
		if err != nil {
			t.Errorf("%s: AppendMessage(%+v): %v", tt.name, tt.m, err)
			continue
		}
		if want := cat(hx("ee"), tt.want); !bytes.Equal(got, want) {
			t.Errorf("%s: AppendMessage(%+v) = % x, want % x", tt.name, tt.m, got, want)
		}
		dec, err := DecodeMessage(tt.want, tt.dict)
		if err != nil {
			t.Errorf("%s: DecodeMessage(% x): %v", tt.name, tt.want, err)
			continue
		}
		if want := AppendVarint(nil, tt.m.ID); tt.m.Type.hasID() && !bytes.Equal(dec.RawID, want) {
			t.Errorf("%s: DecodeMessage(% x).RawID = % x, want % x", tt.name, tt.want, dec.RawID, want)
		}
		dec.RawID = nil
		if fmt.Sprint(dec) != fmt.Sprint(tt.m) {
			t.Errorf("%s: DecodeMessage(% x) = %+v, want %+v", tt.name, tt.want, dec, tt.m)
		}
	}
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// bigDict has 300 routes, so codes need both bytes: r.h.m257 is 258 = 0x0102.
func bigDict(tb testing.TB) *Dictionary {
	var routes []string
	for i := 299; i >= 0; i-- {
		routes = append(routes, fmt.Sprintf("r.h.m%03d", i))
	}
	d, err := NewDictionary(routes, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func TestDecodeMessageAliasesInput(t *testing.T) {
	in := hx("06 01 61 7b 7d")
	m, err := DecodeMessage(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if &m.Body[0] != &in[3] || cap(m.Body) != 2 {
		t.Errorf("DecodeMessage body is a copy or has spare capacity (cap %d), want an alias of the input's tail", cap(m.Body))
	}
}

func TestDecodeMessageInternsKnownRoutes(t *testing.T) {
	skipAllocsUnderRace(t)
	d := chatDict(t)
	in := cat(hx("02 15"), []byte("chat.chatHandler.send"), []byte("{}"))
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeMessage(in, d) }); n != 0 {
		t.Errorf("DecodeMessage with an inline route the dictionary knows: %v allocations, want 0", n)
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	dict := chatDict(t)
	tests := []struct {
		name string
		in   []byte
		dict RouteCodes
		want string // a piece of the message an operator would read
	}{
		{"empty", nil, dict, "empty"},
		{"reserved bit 5 (Pitaya's error flag)", hx("24 01"), dict, "reserved"},
		{"reserved bit 7", hx("80 00 01 61"), dict, "reserved"},
		{"gzip bit", hx("14 01 7b"), dict, "gzip"},
		{"type 4", hx("08 00"), dict, "unknown message type 4"},
		{"type 7", hx("0e"), dict, "unknown message type 7"},
		{"request without id", hx("00"), dict, "truncated"},
		{"request id truncated", hx("00 80"), dict, "truncated"},
		{"response id truncated", hx("04 ff ff"), dict, "truncated"},
		{"id over 64 bits", hx("04 ff ff ff ff ff ff ff ff ff 02"), dict, "overlong"},
		{"id 11 bytes", hx("04 80 80 80 80 80 80 80 80 80 80 01"), dict, "overlong"},
		{"request without route length", hx("00 01"), dict, "before its route length"},
		{"notify without route length", hx("02"), dict, "before its route length"},
		{"route past the end", hx("02 05 61 62"), dict, "runs past the end"},
		{"route 255 past the end", hx("06 ff 61"), dict, "runs past the end"},
		{"route not UTF-8", hx("02 02 c3 28"), dict, "not valid UTF-8"},
		{"code with no bytes", hx("03"), dict, "needs 2 bytes"},
		{"code with one byte", hx("03 00"), dict, "needs 2 bytes"},
		{"code without a dictionary", hx("03 00 01"), nil, "no route dictionary"},
		{"code with a nil *Dictionary", hx("03 00 01"), (*Dictionary)(nil), "no route dictionary"},
		{"code 0", hx("03 00 00"), dict, "code 0"},
		{"code past the dictionary", hx("07 00 0f"), dict, "code 15"},
		{"route flag on a response", hx("05 01"), dict, "response has the route-code flag"},
	}
	for _, tt := range tests {
		m, err := DecodeMessage(tt.in, tt.dict)
		if !errors.Is(err, ErrBadMessage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: DecodeMessage(% x) = %+v, %v; want ErrBadMessage saying %q", tt.name, tt.in, m, err, tt.want)
		}
	}
	if _, err := DecodeMessage(hx("14 01 7b"), nil); !errors.Is(err, ErrCompressedBody) {
		t.Errorf("DecodeMessage(14 01 7b) error = %v, want ErrCompressedBody", err)
	}
}

func TestAppendMessageErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	tests := []struct {
		name string
		m    Message
		dict RouteCodes
		want string
	}{
		{"type 4", Message{Type: 4}, nil, "type 4"},
		{"notify with id", Message{Type: Notify, ID: 1, Route: "a"}, nil, "carries no id"},
		{"push with id", Message{Type: Push, ID: 1, Route: "a"}, nil, "carries no id"},
		{"response with route", Message{Type: Response, ID: 1, Route: "a"}, nil, "carries no route"},
		{"route over 255", Message{Type: Request, ID: 1, Route: long}, nil, "256 bytes"},
		{"route over 255, unknown to dict", Message{Type: Push, Route: long}, chatDict(t), "256 bytes"},
		{"route not UTF-8", Message{Type: Notify, Route: "a\xff"}, nil, "UTF-8"},
	}
	for _, tt := range tests {
		got, err := AppendMessage([]byte{1}, &tt.m, tt.dict)
		if !errors.Is(err, ErrBadMessage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: AppendMessage(%+v) = % x, %v; want ErrBadMessage saying %q", tt.name, tt.m, got, err, tt.want)
		}
		if !bytes.Equal(got, []byte{1}) {
			t.Errorf("%s: AppendMessage changed dst on error: % x", tt.name, got)
		}
	}
	// A long route the dictionary knows is fine: it goes as a code.
	d, _ := NewDictionary([]string{long}, nil)
	if got, err := AppendMessage(nil, &Message{Type: Push, Route: long}, d); err != nil || !bytes.Equal(got, hx("07 00 01")) {
		t.Errorf("AppendMessage(push with a known 256-byte route) = % x, %v; want 07 00 01, nil", got, err)
	}
}

func TestAppendMessageOneAlloc(t *testing.T) {
	skipAllocsUnderRace(t)
	d := chatDict(t)
	m := &Message{Type: Push, Route: "onChat", Body: []byte(`{"msg":"hello","from":"bob","target":"*"}`)}
	if n := testing.AllocsPerRun(100, func() { _, _ = AppendMessage(nil, m, d) }); n > 1 {
		t.Errorf("AppendMessage into a nil slice: %v allocations, want at most 1", n)
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { _, _ = AppendMessage(buf[:0], m, d) }); n != 0 {
		t.Errorf("AppendMessage into a big enough slice: %v allocations, want 0", n)
	}
}

// A client-side RouteCodes (the dict from a handshake) works as well.
type mapCodes map[string]uint16

func (m mapCodes) Code(r string) (uint16, bool) { c, ok := m[r]; return c, ok }
func (m mapCodes) Route(c uint16) (string, bool) {
	for r, v := range m {
		if v == c {
			return r, true
		}
	}
	return "", false
}

func TestMessageCustomRouteCodes(t *testing.T) {
	codes := mapCodes{"onChat": 0x1234}
	m := Message{Type: Push, Route: "onChat", Body: []byte("x")}
	b, err := AppendMessage(nil, &m, codes)
	if err != nil || !bytes.Equal(b, hx("07 12 34 78")) {
		t.Fatalf("AppendMessage(%+v, mapCodes) = % x, %v; want 07 12 34 78", m, b, err)
	}
	got, err := DecodeMessage(b, codes)
	if err != nil || got.Route != "onChat" {
		t.Errorf("DecodeMessage(% x, mapCodes) = %+v, %v", b, got, err)
	}
}

func TestTypeStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{Handshake.String(), "handshake"}, {HandshakeAck.String(), "handshake-ack"}, {Heartbeat.String(), "heartbeat"},
		{Data.String(), "data"}, {Kick.String(), "kick"}, {PacketType(9).String(), "PacketType(9)"},
		{Request.String(), "request"}, {Notify.String(), "notify"}, {Response.String(), "response"},
		{Push.String(), "push"}, {MessageType(5).String(), "MessageType(5)"},
	} {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}

// TestBrowserBuildIDs follows ids as pomelo@2.2.7's build.js writes them, high 7
// bits first (128 is 81 00): the id reads as pomelo-protocol reads it, and the
// response echoes the client's own bytes, so that the client finds its callback.
func TestBrowserBuildIDs(t *testing.T) {
	for _, tc := range []struct {
		raw    string
		readAs uint64
	}{{"81 00", 1}, {"81 01", 129}, {"82 00", 2}, {"81 80 00", 1}} {
		req := append(hx("00"), hx(tc.raw)...)
		req = append(req, 1, 'a')
		m, err := DecodeMessage(req, nil)
		if err != nil || m.ID != tc.readAs || !bytes.Equal(m.RawID, hx(tc.raw)) {
			t.Errorf("DecodeMessage(% x) = id %d raw % x (%v), want id %d raw %s", req, m.ID, m.RawID, err, tc.readAs, tc.raw)
			continue
		}
		resp, err := AppendMessage(nil, &Message{Type: Response, ID: m.ID, RawID: m.RawID, Body: []byte("{}")}, nil)
		if want := append(append(hx("04"), hx(tc.raw)...), "{}"...); err != nil || !bytes.Equal(resp, want) {
			t.Errorf("response to % x: got % x (%v), want % x", req, resp, err, want)
		}
	}
}
