package connector

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// countingConn records each write the connection gets.
type countingConn struct {
	net.Conn
	mu        sync.Mutex
	writes    [][]byte
	deadlines int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *countingConn) SetWriteDeadline(time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadlines++
	return nil
}

func TestBatchConnGathersABatchIntoOneWrite(t *testing.T) {
	under := &countingConn{}
	b := &batchConn{Conn: under}
	_, _ = b.Write([]byte("alone"))
	b.begin()
	for _, p := range []string{"one", "two", "three"} {
		_, _ = b.Write([]byte(p))
	}
	if len(under.writes) != 1 {
		t.Fatalf("writes before the flush: %q, want only the one outside the batch", under.writes)
	}
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	_, _ = b.Write([]byte("after"))
	if got := fmt.Sprintf("%q", under.writes); got != `["alone" "onetwothree" "after"]` {
		t.Errorf("writes: %s", got)
	}
	if err := b.flush(); err != nil || len(under.writes) != 3 {
		t.Errorf("a flush without a batch wrote something: %v %q", err, under.writes)
	}
	d := time.Now().Add(time.Minute)
	for range 3 {
		_ = b.SetWriteDeadline(d)
	}
	_ = b.SetWriteDeadline(d.Add(time.Second))
	if under.deadlines != 2 {
		t.Errorf("deadlines set: %d, want 2 (an unchanged one is skipped)", under.deadlines)
	}
}

// Pushes queued faster than the writer writes go out in batches; over
// WebSocket each must still arrive as its own message, in order, before the
// response that followed them.
func TestBurstOfPushesArrivesInOrder(t *testing.T) {
	s, _ := start(t, Config{})
	const n = 500
	s.Handle("entryHandler.burst", func(_ context.Context, sess *Session, _ *Request) (any, error) {
		p, err := s.EncodePush("onBurst", map[string]string{"shared": "yes"})
		if err != nil {
			return nil, err
		}
		for i := range n {
			if i%2 == 0 {
				err = sess.Push("onBurst", map[string]int{"i": i})
			} else {
				err = sess.PushEncoded(p)
			}
			if err != nil {
				return nil, err
			}
		}
		return map[string]int{"code": 200}, nil
	})
	for _, tcp := range []bool{false, true} {
		var mu sync.Mutex
		var got []string
		c := dial(t, s, client.Options{TCP: tcp, OnPush: func(route string, body []byte) {
			mu.Lock()
			got = append(got, string(body))
			mu.Unlock()
		}})
		if resp := request(t, c, "connector.entryHandler.burst", `{}`); resp != `{"code":200}` {
			t.Fatalf("burst: %s", resp)
		}
		mu.Lock()
		if len(got) != n {
			t.Fatalf("tcp=%v: %d pushes before the response, want %d", tcp, len(got), n)
		}
		for i, body := range got {
			want := fmt.Sprintf(`{"i":%d}`, i)
			if i%2 == 1 {
				want = `{"shared":"yes"}`
			}
			if body != want {
				t.Fatalf("tcp=%v: push %d is %s, want %s", tcp, i, body, want)
			}
		}
		mu.Unlock()
	}
}
