package rpc

import (
	"context"
	"sync"
	"time"
)

// incoming is a call or notify from a peer, with room for its handler's
// context: one allocation for both.
type incoming struct {
	Request
	ctx callContext
}

// maxIdleWorkers bounds the workers that wait for calls.
const maxIdleWorkers = 256

// dispatch runs a call, counted in n.active, on a worker that waits for one, or on a new one
// when none does: calls are never queued behind each other.
//
// A goroutine per call would start with a small stack and grow it (a copy)
// for nearly every handler, a twentieth of a busy backend's time; a worker's
// stack has grown already.
func (n *Node) dispatch(in *incoming) {
	select {
	case n.calls <- in:
	default:
		n.handlers.Add(1)
		go n.work(in)
	}
}

// work serves in, then the calls dispatch hands it, until there are enough
// idle workers without it or the node closes.
func (n *Node) work(in *incoming) {
	defer n.handlers.Done()
	for {
		n.serve(in)
		n.active.Add(-1)
		if n.idle.Add(1) > maxIdleWorkers {
			n.idle.Add(-1)
			return
		}
		select {
		case in = <-n.calls:
			n.idle.Add(-1)
		case <-n.ctx.Done():
			return
		}
	}
}

// callContext is a call's handler context: like context.WithTimeout's, it
// ends at the caller's deadline, when the node closes, or when the handler
// returns. The timer and the registration with the node's context that this
// takes are made only once a handler asks for more than the deadline: most
// handlers never do, and context.WithTimeout on every call was a tenth of a
// busy backend's time, much of it spent waiting for the node context's
// lock, which every call took twice.
type callContext struct {
	node     *Node
	deadline time.Time

	once   sync.Once
	ctx    context.Context    // made by once: the real one, or node.ended
	cancel context.CancelFunc // the real one's
}

func (c *callContext) start(n *Node, timeout time.Duration) *callContext {
	c.node, c.deadline = n, time.Now().Add(timeout)
	return c
}

// end ends the context as its handler returns: made later, by a goroutine
// the handler left behind, it is over already.
func (c *callContext) end() {
	c.once.Do(func() { c.ctx = c.node.ended })
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *callContext) real() context.Context {
	c.once.Do(func() { c.ctx, c.cancel = context.WithDeadline(c.node.ctx, c.deadline) })
	return c.ctx
}

func (c *callContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *callContext) Done() <-chan struct{}       { return c.real().Done() }
func (c *callContext) Err() error                  { return c.real().Err() }

// Value is the real context's, which a context derived from this one
// looks for, to hook on to its cancellation (as it would to
// context.WithTimeout's) rather than to watch Done from a goroutine.
func (c *callContext) Value(key any) any { return c.real().Value(key) }
