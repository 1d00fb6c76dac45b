package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// fuzzMax turns a fuzzed number into a reader limit that keeps small inputs
// interesting (limits both above and below the packet sizes).
func fuzzMax(m uint32) int { return int(m % (1<<17 + 1)) }

func packetSeeds(f *testing.F) {
	f.Add(hx("01 000002 7b7d 02 000000 03 000000 04 000003 00 01 00 05 000002 7b7d"), uint32(100))
	f.Add(hx("04 ffffff"), uint32(65536))
	f.Add(hx("04 000010 6162"), uint32(1<<17))
	f.Add(hx("00 000000"), uint32(10))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), uint32(1000))
	f.Add(hx("04 00"), uint32(10))
	f.Add([]byte{}, uint32(0))
}

func FuzzPacketReader(f *testing.F) {
	packetSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, m uint32) {
		max := fuzzMax(m)
		pr := NewPacketReader(bytes.NewReader(data), max)
		var again []byte
		var got []packet
		var err error
		for {
			var typ PacketType
			var body []byte
			typ, body, err = pr.Next()
			if err != nil {
				break
			}
			if len(body) > max {
				t.Fatalf("Next returned %d bytes over the limit %d", len(body), max)
			}
			got = append(got, packet{typ, string(body)})
			again, _ = AppendPacket(again, typ, body)
		}
		if !bytes.HasPrefix(data, again) {
			t.Fatalf("re-encoded packets % x are not a prefix of the input % x", again, data)
		}
		if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBadPacketType) {
			t.Fatalf("Next error %v is none of EOF, ErrUnexpectedEOF, ErrTooLarge, ErrBadPacketType", err)
		}
		// The stream reader and SplitPackets agree on what is valid.
		var split []packet
		serr := SplitPackets(data, max, func(typ PacketType, b []byte) error {
			split = append(split, packet{typ, string(b)})
			return nil
		})
		if (serr == nil) != (err == io.EOF) {
			t.Fatalf("SplitPackets error %v but PacketReader ended with %v", serr, err)
		}
		if serr == nil && (len(split) != len(got) || !bytes.Equal(again, data)) {
			t.Fatalf("SplitPackets found %d packets, PacketReader %d", len(split), len(got))
		}
	})
}

func FuzzSplitPackets(f *testing.F) {
	packetSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, m uint32) {
		max := fuzzMax(m)
		var again []byte
		calls := 0
		err := SplitPackets(data, max, func(typ PacketType, b []byte) error {
			calls++
			if len(b) > max {
				t.Fatalf("body of %d bytes over the limit %d", len(b), max)
			}
			again, _ = AppendPacket(again, typ, b)
			return nil
		})
		if err != nil {
			if calls != 0 {
				t.Fatalf("SplitPackets called fn %d times, then failed: %v", calls, err)
			}
			return
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoded % x, input % x", again, data)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	dict := chatDict(f)
	for _, s := range []string{
		"00 00 03 612e62 7b7d", "00 80 01 03 612e62", "00 80 80 80 80 10 00", "01 80 01 0003 7b7d",
		"02 15 636861742e6368617448616e646c65722e73656e64", "03 0002", "04 ff ff ff ff ff ff ff ff ff 01 7b7d",
		"06 06 6f6e43686174", "07 000e", "05 01", "14 01", "24 00", "08", "00 80 00", "03 00 63", "02 02 c328", "",
	} {
		f.Add(hx(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data, dict)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("DecodeMessage(% x) error %v does not wrap ErrBadMessage", data, err)
			}
			return
		}
		if !utf8.ValidString(m.Route) {
			t.Fatalf("DecodeMessage(% x) returned a route that is not UTF-8: %q", data, m.Route)
		}
		// The format is canonical: encoding what was decoded, compressing the
		// route exactly when the input did, gives back the input.
		var codes RouteCodes
		if data[0]&flagRouteCode != 0 {
			codes = dict
		}
		again, err := AppendMessage(nil, &m, codes)
		if err != nil {
			t.Fatalf("DecodeMessage(% x) = %+v, which does not encode: %v", data, m, err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("DecodeMessage(% x) = %+v, re-encoded as % x", data, m, again)
		}
	})
}

func FuzzParseHandshake(f *testing.F) {
	for _, s := range []string{
		`{"sys":{"type":"js-websocket","version":"0.0.1","rsa":{}},"user":{}}`,
		`{"sys":{"platform":"mac","libVersion":"0.3.5-release"},"user":{"age":30}}`,
		`{"sys":{"dictVersion":"g7Kh+v4GFvT0WwsogaNTFA==","protoVersion":1}}`,
		`{"sys":{"type":"\u00e9\"","version":null},"user":null}`,
		`{"sys":[]}`, `{}`, `null`, `[`, ``, "{\"sys\":{\"type\":\"\xff\"}}",
	} {
		f.Add([]byte(s))
	}
	dict := chatDict(f)
	opts := &HandshakeOptions{Heartbeat: 3, Dict: dict, Protos: json.RawMessage(protosJSON), ProtoVersion: "PV1"}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseHandshake(body)
		if err != nil {
			if !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("ParseHandshake(%q) error %v does not wrap ErrBadHandshake", body, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("ParseHandshake accepted invalid JSON %q", body)
		}
		resp := AppendHandshakeResponse(nil, req, opts, req.User)
		if !json.Valid(resp) {
			t.Fatalf("ParseHandshake(%q) then AppendHandshakeResponse wrote invalid JSON %s", body, resp)
		}
	})
}
