package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"
)

// conn is one connection to a peer, either end of which may call.
type conn struct {
	node *Node
	peer string
	nc   net.Conn

	mu      sync.Mutex
	queue   []byte // encoded frames waiting to be written
	spare   []byte
	writing bool
	err     error // why it closed; nil while open
	seq     uint64
	pending map[uint64]waiter
	done    chan struct{}
}

type result struct {
	body []byte
	err  error
}

// waiter is a call waiting for its reply: a caller blocked on ch (call), or a
// done func to run with it (goCall), whose deadline timer is then stopped.
type waiter struct {
	route string
	ch    chan result
	done  func([]byte, error)
	timer *time.Timer
}

func (w waiter) deliver(r result) {
	if re, ok := r.err.(*RemoteError); ok {
		re.Route = w.route
	}
	if w.ch != nil {
		w.ch <- r
		return
	}
	w.timer.Stop()
	w.done(r.body, r.err)
}

func newConn(n *Node, peer string, nc net.Conn) *conn {
	return &conn{node: n, peer: peer, nc: nc, pending: map[uint64]waiter{}, done: make(chan struct{})}
}

// send queues a frame; the writer goroutine writes what is queued in one go.
func (c *conn) send(f *frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendLocked(f)
}

func (c *conn) sendLocked(f *frame) error {
	if c.err != nil {
		return c.err
	}
	c.queue = appendFrame(c.queue, f)
	if !c.writing {
		c.writing = true
		go c.write()
	}
	return nil
}

func (c *conn) write() {
	// Let the goroutines that are about to send (the other handlers of a
	// burst) queue first: one system call then carries them all.
	runtime.Gosched()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.err != nil {
			c.writing = false
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.queue, c.spare = c.spare[:0], batch
		c.mu.Unlock()
		if _, err := c.nc.Write(batch); err != nil {
			c.fail(fmt.Errorf("write to %s: %w", c.peer, err))
			return
		}
	}
}

// call sends a call and waits for its reply.
func (c *conn) call(ctx context.Context, route string, body []byte) ([]byte, error) {
	ch := make(chan result, 1)
	c.mu.Lock()
	c.seq++
	seq := c.seq
	var timeout uint64
	if dl, ok := ctx.Deadline(); ok {
		timeout = uint64(max(time.Until(dl).Milliseconds(), 1))
	}
	if err := c.sendLocked(&frame{kind: kindCall, seq: seq, timeout: timeout, route: route, body: body}); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.pending[seq] = waiter{route: route, ch: ch}
	c.mu.Unlock()
	select {
	case r := <-ch:
		return r.body, r.err
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, seq)
		c.mu.Unlock()
		return nil, fmt.Errorf("%s on %s: no answer: %w", route, c.peer, ctx.Err())
	}
}

// goCall sends a call and returns; done runs with its reply, or with an
// error once d has passed without one.
func (c *conn) goCall(route string, body []byte, d time.Duration, done func([]byte, error)) {
	c.mu.Lock()
	c.seq++
	seq := c.seq
	if err := c.sendLocked(&frame{kind: kindCall, seq: seq, timeout: uint64(max(d.Milliseconds(), 1)), route: route, body: body}); err != nil {
		c.mu.Unlock()
		done(nil, err)
		return
	}
	c.pending[seq] = waiter{route: route, done: done, timer: time.AfterFunc(d, func() { c.expire(seq) })}
	c.mu.Unlock()
}

// expire fails a goCall whose deadline passed, unless its reply came first.
func (c *conn) expire(seq uint64) {
	c.mu.Lock()
	w, ok := c.pending[seq]
	delete(c.pending, seq)
	c.mu.Unlock()
	if ok {
		w.done(nil, fmt.Errorf("%s on %s: no answer: %w", w.route, c.peer, context.DeadlineExceeded))
	}
}

// read serves the connection until it breaks: calls run in goroutines of
// their own; notifies run here, one after another, so that they keep the
// order they were sent in (a backend's pushes to one client).
func (c *conn) read(br *bufio.Reader) {
	var buf []byte
	for {
		var f frame
		var err error
		f, buf, err = readFrame(br, buf)
		if err != nil {
			c.fail(fmt.Errorf("read from %s: %w", c.peer, err))
			return
		}
		switch f.kind {
		case kindCall:
			req := &Request{From: c.peer, Route: f.route, Body: append([]byte(nil), f.body...), conn: c, seq: f.seq,
				timeout: time.Duration(f.timeout) * time.Millisecond}
			c.node.handlers.Go(func() { c.node.serve(req) })
		case kindNotify:
			c.node.serve(&Request{From: c.peer, Route: f.route, Body: f.body, conn: c})
		case kindReply:
			c.mu.Lock()
			w, ok := c.pending[f.seq]
			delete(c.pending, f.seq)
			c.mu.Unlock()
			if !ok {
				continue // its caller gave up
			}
			if f.status == 0 {
				w.deliver(result{body: append([]byte(nil), f.body...)})
			} else {
				w.deliver(result{err: &RemoteError{Server: c.peer, Msg: string(f.body)}})
			}
		default:
			c.fail(fmt.Errorf("%w from %s: kind %d after the hello", errBadFrame, c.peer, f.kind))
			return
		}
	}
}

// fail closes the connection for good and fails every call waiting on it.
func (c *conn) fail(cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = fmt.Errorf("%w: the connection to %s closed: %w", ErrPeerGone, c.peer, cause)
	pending := c.pending
	c.pending = nil
	close(c.done)
	c.mu.Unlock()
	_ = c.nc.Close()
	// Forgotten before the callers hear of it, so that their next call
	// dials again rather than finding this one.
	c.node.drop(c)
	for _, w := range pending {
		w.deliver(result{err: c.err})
	}
}

// failed reports whether the connection has closed.
func (c *conn) failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil
}

// closeWith ends the connection on purpose.
func (c *conn) closeWith(why string) { c.fail(errors.New(why)) }
