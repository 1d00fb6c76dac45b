// Package batchconn lets a writer send several WebSocket messages in one
// system call: gorilla/websocket writes each message to its connection on its
// own, and on a busy connection that is a system call per message.
package batchconn

import (
	"net"
	"sync"
	"time"
)

// Conn gathers what is written between Begin and Flush into one write.
// Writes from other goroutines meanwhile (gorilla/websocket's control frames,
// a pong) join the batch; outside a batch, writes pass straight through. It
// also skips setting a write deadline that has not changed, which
// gorilla/websocket does before every frame.
type Conn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      []byte
	deadline time.Time // the write deadline last set
}

// New wraps c.
func New(c net.Conn) *Conn { return &Conn{Conn: c} }

func (b *Conn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

// SetWriteDeadline sets the deadline unless it is the one already set.
func (b *Conn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.Equal(b.deadline) {
		return nil
	}
	b.deadline = t
	return b.Conn.SetWriteDeadline(t)
}

// Begin starts gathering writes.
func (b *Conn) Begin() {
	b.mu.Lock()
	b.batching = true
	b.mu.Unlock()
}

// Flush writes what was gathered since Begin, in one write, and lets writes
// pass through again. A nil Conn, or one not gathering, has nothing to flush.
func (b *Conn) Flush() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.batching {
		return nil
	}
	b.batching = false
	var err error
	if len(b.buf) > 0 {
		_, err = b.Conn.Write(b.buf)
	}
	b.buf = b.buf[:0]
	if cap(b.buf) > 64<<10 {
		b.buf = nil // do not pin a burst's buffer on an idle connection
	}
	return err
}
