package batchconn

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
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

func TestGathersABatchIntoOneWrite(t *testing.T) {
	under := &countingConn{}
	b := New(under)
	_, _ = b.Write([]byte("alone"))
	b.Begin()
	for _, p := range []string{"one", "two", "three"} {
		_, _ = b.Write([]byte(p))
	}
	if len(under.writes) != 1 {
		t.Fatalf("writes before the flush: %q, want only the one outside the batch", under.writes)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	_, _ = b.Write([]byte("after"))
	if got := fmt.Sprintf("%q", under.writes); got != `["alone" "onetwothree" "after"]` {
		t.Errorf("writes: %s", got)
	}
	if err := b.Flush(); err != nil || len(under.writes) != 3 {
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
