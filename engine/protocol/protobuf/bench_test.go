package protobuf

import (
	"os"
	"testing"
)

func chatBench(b *testing.B) (*Protos, map[string]any) {
	b.Helper()
	p := mustParse(b, string(must(os.ReadFile(protosFiles["chat/server"]))))
	return p, map[string]any{"msg": "hello everyone in the room, how is it going?", "from": "alice", "target": "*"}
}

func BenchmarkEncodeOnChat(b *testing.B) {
	p, msg := chatBench(b)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = p.AppendEncode(buf[:0], "onChat", msg); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeOnChat(b *testing.B) {
	p, msg := chatBench(b)
	data, err := p.Encode("onChat", msg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := p.Decode("onChat", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeOnAttack(b *testing.B) {
	p := mustParse(b, string(must(os.ReadFile(protosFiles["lord/server"]))))
	msg := decodeMsg(b, encodeCases[7].msg)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = p.AppendEncode(buf[:0], "onAttack", msg); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeOnAttack(b *testing.B) {
	p := mustParse(b, string(must(os.ReadFile(protosFiles["lord/server"]))))
	data, err := p.Encode("onAttack", decodeMsg(b, encodeCases[7].msg))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := p.Decode("onAttack", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLordServer(b *testing.B) {
	data := must(os.ReadFile(protosFiles["lord/server"]))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
