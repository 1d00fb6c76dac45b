package connector

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// BenchmarkEcho measures a request's round trip through one frontend on loopback
// with 64 connections (b.RunParallel spreads the requests over them).
func BenchmarkEcho(b *testing.B) {
	for _, tcp := range []bool{false, true} {
		name := map[bool]string{false: "ws", true: "tcp"}[tcp]
		b.Run(name, func(b *testing.B) {
			s := New(Config{ServerID: "bench", ServerType: "connector", Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			s.Handle("entryHandler.echo", func(_ context.Context, _ *Session, r *Request) (any, error) { return r.Body, nil })
			if err := s.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const conns = 64
			clients := make(chan *client.Client, conns)
			for range conns {
				c, err := client.Dial(context.Background(), s.Addr().String(), client.Options{TCP: tcp})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				clients <- c
			}
			body := []byte(`{"msg":"0123456789abcdef"}`)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := <-clients
				defer func() { clients <- c }()
				for pb.Next() {
					if _, err := c.Request(context.Background(), "connector.entryHandler.echo", body); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
