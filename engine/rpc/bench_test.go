package rpc

import (
	"context"
	"testing"
)

// go test -run '^$' -bench . -benchmem ./engine/rpc/
//
// BenchmarkCall is one call at a time over loopback (the latency of a hop);
// BenchmarkCallParallel keeps GOMAXPROCS×16 calls in flight on one
// connection (its throughput, with writes batched).
func BenchmarkCall(b *testing.B) {
	a := benchPair(b)
	body := []byte(`{"content":"hello","target":"*"}`)
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Call(context.Background(), "chat-1", "chat.chatHandler.echo", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallParallel(b *testing.B) {
	a := benchPair(b)
	body := []byte(`{"content":"hello","target":"*"}`)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Call(context.Background(), "chat-1", "chat.chatHandler.echo", body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchPair(b *testing.B) *Node {
	cl := newCluster(b)
	a := cl.node("connector-1", echo)
	cl.node("chat-1", func(_ context.Context, r *Request) ([]byte, error) { return r.Body, nil })
	if _, err := a.Call(context.Background(), "chat-1", "warm", nil); err != nil {
		b.Fatal(err)
	}
	return a
}
