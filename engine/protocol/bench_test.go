package protocol

import (
	"encoding/json"
	"testing"
)

var chatBody = []byte(`{"rid":"room1","content":"hello, everyone","from":"bob","target":"*"}`)

func BenchmarkAppendMessage(b *testing.B) {
	d := chatDict(b)
	cases := []struct {
		name string
		m    Message
	}{
		{"request/inline", Message{Type: Request, ID: 12345, Route: "chat.chatHandler.send", Body: chatBody}},
		{"request/code", Message{Type: Request, ID: 12345, Route: "chat.chatHandler.send", Body: chatBody}},
		{"push/code", Message{Type: Push, Route: "onAttack", Body: chatBody}},
	}
	for i, c := range cases {
		var dict RouteCodes
		if i > 0 {
			dict = d
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 256)
			for b.Loop() {
				buf, _ = AppendMessage(buf[:0], &c.m, dict)
			}
		})
	}
	b.Run("push/code/new-buffer", func(b *testing.B) {
		b.ReportAllocs()
		m := Message{Type: Push, Route: "onAttack", Body: chatBody}
		for b.Loop() {
			_, _ = AppendMessage(nil, &m, d)
		}
	})
}

func BenchmarkDecodeMessage(b *testing.B) {
	d := chatDict(b)
	inline, _ := AppendMessage(nil, &Message{Type: Request, ID: 12345, Route: "chat.chatHandler.send", Body: chatBody}, nil)
	coded, _ := AppendMessage(nil, &Message{Type: Request, ID: 12345, Route: "chat.chatHandler.send", Body: chatBody}, d)
	unknown, _ := AppendMessage(nil, &Message{Type: Notify, Route: "area.playerHandler.move", Body: chatBody}, nil)
	for _, c := range []struct {
		name string
		in   []byte
		dict RouteCodes
	}{
		{"request/code", coded, d},
		{"request/inline-known", inline, d},
		{"notify/inline-unknown", unknown, d},
		{"request/inline-no-dict", inline, nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				if _, err := DecodeMessage(c.in, c.dict); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPacketReader(b *testing.B) {
	d := chatDict(b)
	msg, _ := AppendMessage(nil, &Message{Type: Request, ID: 12345, Route: "chat.chatHandler.send", Body: chatBody}, d)
	var stream []byte
	for range 64 {
		stream, _ = AppendPacket(stream, Data, msg)
		stream, _ = AppendPacket(stream, Heartbeat, nil)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)) / 128)
	pr := NewPacketReader(&loopReader{b: stream}, 64<<10)
	for b.Loop() {
		if _, _, err := pr.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendHandshakeResponse(b *testing.B) {
	d := chatDict(b)
	opts := &HandshakeOptions{Heartbeat: 3, Dict: d, Protos: json.RawMessage(protosJSON), ProtoVersion: "PV1"}
	user := json.RawMessage(`{"uid":7}`)
	fresh := &HandshakeRequest{}
	cached := &HandshakeRequest{}
	cached.Sys.DictVersion, cached.Sys.ProtoVersion = d.Version(), "PV1"
	for _, c := range []struct {
		name string
		req  *HandshakeRequest
	}{{"new-client", fresh}, {"cached-client", cached}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				buf = AppendHandshakeResponse(buf[:0], c.req, opts, user)
			}
		})
		b.Run(c.name+"/new-buffer", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = AppendHandshakeResponse(nil, c.req, opts, user)
			}
		})
	}
}
