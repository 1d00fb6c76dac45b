package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
	writing bool          // the writer has been woken for what is queued
	wake    chan struct{} // wakes the writer; never full when writing is false
	err     error         // why it closed; nil while open
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

// newConn returns a connection and starts its writer, which stops when
// the connection fails: a connection made must be failed, even one that
// is not used.
func newConn(n *Node, peer string, nc net.Conn) *conn {
	c := &conn{node: n, peer: peer, nc: nc, pending: map[uint64]waiter{}, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	n.readers.Go(c.write)
	return c
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
		c.wake <- struct{}{}
	}
	return nil
}

// write writes what is queued, whenever it is woken, until the connection
// fails. It lives as long as the connection: a goroutine started for each
// batch cost one, and an allocation, per call at low load.
func (c *conn) write() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		// Let the goroutines that are about to send (the other handlers of
		// a burst) queue first: one system call then carries them all.
		runtime.Gosched()
		if !c.writeQueued() {
			return
		}
	}
}

// writeQueued writes until the queue is empty; false once the connection
// has failed.
func (c *conn) writeQueued() bool {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.err != nil {
			c.writing = false
			failed := c.err != nil
			c.mu.Unlock()
			return !failed
		}
		batch := c.queue
		c.queue, c.spare = c.spare[:0], batch
		c.mu.Unlock()
		if _, err := c.nc.Write(batch); err != nil {
			c.fail(fmt.Errorf("write to %s: %w", c.peer, err))
			return false
		}
	}
}

// call sends a call and waits on w.ch for its reply, until ctx ends or,
// when ctx has no deadline, w's timer expires.
func (c *conn) call(ctx context.Context, w *caller, route string, body []byte) ([]byte, error) {
	c.mu.Lock()
	c.seq++
	seq := c.seq
	dl, ok := ctx.Deadline()
	if !ok {
		dl = w.deadline
	}
	timeout := uint64(max(time.Until(dl).Milliseconds(), 1))
	if err := c.sendLocked(&frame{kind: kindCall, seq: seq, timeout: timeout, route: route, body: body}); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.pending[seq] = waiter{route: route, ch: w.ch}
	c.mu.Unlock()
	var err error
	select {
	case r := <-w.ch:
		return r.body, r.err
	case <-ctx.Done():
		err = ctx.Err()
	case <-w.expired:
		err = context.DeadlineExceeded
	}
	c.mu.Lock()
	delete(c.pending, seq)
	c.mu.Unlock()
	w.ch = nil
	return nil, fmt.Errorf("%s on %s: no answer: %w", route, c.peer, err)
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

// read serves the connection until it breaks: calls run concurrently, on
// the node's workers; notifies run here, one after another, so that they
// keep the order they were sent in (a backend's pushes to one client).
func (c *conn) read(br *bufio.Reader) {
	var buf []byte
	var route string // the last one read: the next is likely the same
	for {
		var f frame
		var err error
		f, buf, err = readFrame(br, buf, route)
		if err != nil {
			c.fail(fmt.Errorf("read from %s: %w", c.peer, err))
			return
		}
		switch f.kind {
		case kindCall:
			route = f.route
			// Counted before the check, so that Drain either sees the
			// call or the call sees Drain.
			c.node.active.Add(1)
			if c.node.draining.Load() {
				c.node.active.Add(-1)
				_ = c.send(&frame{kind: kindReply, seq: f.seq, status: statusStopping})
				continue
			}
			c.node.dispatch(&incoming{Request: Request{From: c.peer, Route: f.route, Body: append([]byte(nil), f.body...), conn: c, seq: f.seq,
				timeout: time.Duration(f.timeout) * time.Millisecond}})
		case kindNotify:
			route = f.route
			c.node.serve(&incoming{Request: Request{From: c.peer, Route: f.route, Body: f.body, conn: c}})
		case kindReply:
			c.mu.Lock()
			w, ok := c.pending[f.seq]
			delete(c.pending, f.seq)
			c.mu.Unlock()
			if !ok {
				continue // its caller gave up
			}
			switch f.status {
			case statusOK:
				w.deliver(result{body: append([]byte(nil), f.body...)})
			case statusStopping:
				w.deliver(result{err: fmt.Errorf("%w: %s did not take the call", ErrStopping, c.peer)})
			case statusCoded:
				code, n := binary.Uvarint(f.body)
				if n <= 0 || code > math.MaxInt32 {
					w.deliver(result{err: &RemoteError{Server: c.peer, Msg: "a coded error that does not decode"}})
					break
				}
				w.deliver(result{err: &RemoteError{Server: c.peer, Code: int(code), Msg: string(f.body[n:])}})
			default:
				w.deliver(result{err: &RemoteError{Server: c.peer, Msg: string(f.body)}})
			}
		default:
			c.fail(fmt.Errorf("%w from %s: kind %d after the hello", errBadFrame, c.peer, f.kind))
			return
		}
	}
}

// forget is Node.Forget for one connection: the calls waiting on the peer
// fail now and no new call takes this connection, but it stays open: a
// peer that leaves gracefully still answers the calls it is handling and
// makes calls of its own while it drains, and closes the connection itself
// when it is done (a dead peer's closed with its process).
func (c *conn) forget() {
	c.node.unroute(c)
	c.mu.Lock()
	pending := c.pending
	c.pending = map[uint64]waiter{}
	c.mu.Unlock()
	err := fmt.Errorf("%w: %s left the cluster", ErrPeerGone, c.peer)
	for _, w := range pending {
		w.deliver(result{err: err})
	}
}

// flush waits, until deadline, for what is queued to be written.
func (c *conn) flush(deadline time.Time) {
	for time.Now().Before(deadline) {
		c.mu.Lock()
		idle := c.err != nil || !c.writing && len(c.queue) == 0
		c.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(time.Millisecond)
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
