package connector

import (
	"errors"
	"sync"
	"time"
)

var (
	errSlowClient = errors.New("the client does not read fast enough: its write queue is full")
	errClosed     = errors.New("the connection is closed")
)

// writer is a connection's bounded write queue. Whoever queues the first package
// of a burst starts a goroutine that writes everything queued by then in one
// call, and goes on until the queue is empty: idle connections hold no writer
// goroutine, and busy ones write in batches.
//
// With a flush interval, a push that finds the writer idle waits up to that
// long for the pushes that follow it, so that a client pushed to every few
// milliseconds gets them in one write (Pomelo's buffered push scheduler):
// fewer system calls on both ends, for a little latency. Replies, heartbeats
// and kicks never wait, and take any waiting pushes with them.
type writer struct {
	t     transport
	max   int
	flush time.Duration

	timer *time.Timer // fires a waiting flush; made on the first deferred push
	armed bool        // the timer will start the writing goroutine

	mu      sync.Mutex
	queue   [][]byte
	spare   [][]byte
	running bool
	closed  bool
	closing bool          // close once the queue is written (after a kick)
	drained chan struct{} // closed when a closing writer has written its queue, or gave up
	ended   bool          // drained is closed

	onError func(error)                   // called once, from the writing goroutine, when a write fails
	onDone  func(code int, reason string) // called with sendLast's code and reason once its package is written

	// what sendLast was given for onDone
	endCode   int
	endReason string
}

func newWriter(t transport, max int, flush time.Duration) *writer {
	return &writer{t: t, max: max, flush: flush}
}

// send queues one encoded package (the writer keeps the slice) to be written
// at once. It never blocks.
func (w *writer) send(p []byte) error { return w.queue1(p, false) }

// push queues a push, which may wait for the flush interval.
func (w *writer) push(p []byte) error { return w.queue1(p, w.flush > 0) }

func (w *writer) queue1(p []byte, deferred bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed || w.closing:
		return errClosed
	case len(w.queue) >= w.max:
		return errSlowClient
	}
	w.queue = append(w.queue, p)
	switch {
	case w.running:
	case deferred:
		if !w.armed {
			w.armed = true
			if w.timer == nil {
				w.timer = time.AfterFunc(w.flush, w.fire)
			} else {
				w.timer.Reset(w.flush)
			}
		}
	default:
		w.start()
	}
	return nil
}

// start starts the writing goroutine, now; w.mu is held and it is not running.
func (w *writer) start() {
	if w.armed {
		w.armed = false
		w.timer.Stop()
	}
	w.running = true
	go w.run()
}

// fire ends a flush interval: it writes what waited, unless something that
// could not wait started the writing first.
func (w *writer) fire() {
	w.mu.Lock()
	if !w.armed {
		w.mu.Unlock()
		return
	}
	w.armed = false
	w.running = true
	w.mu.Unlock()
	w.run()
}

// sendLast queues a final package (a kick, a handshake refusal); once
// everything queued before it and it are written, onDone runs. It reports
// whether the package was queued: false when the writer was already closed
// or closing.
func (w *writer) sendLast(p []byte, code int, reason string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.closing {
		return false
	}
	w.endCode, w.endReason = code, reason
	w.queue = append(w.queue, p) // a kick goes out even past the limit
	w.closing = true
	w.drained = make(chan struct{})
	if !w.running {
		w.start()
	}
	return true
}

// ending reports whether the connection's last package has been queued
// (sendLast), or the writer closed.
func (w *writer) ending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed || w.closing
}

// waitDrained waits, at most d, for a final package queued by sendLast to be
// written.
func (w *writer) waitDrained(d time.Duration) {
	w.mu.Lock()
	ch := w.drained
	w.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// close stops writing; what is still queued is dropped, and whoever waits
// for a final package to drain stops waiting.
func (w *writer) close() {
	w.mu.Lock()
	w.closed = true
	w.queue = nil
	if w.armed {
		w.armed = false
		w.timer.Stop()
	}
	w.endDrain()
	w.mu.Unlock()
}

// endDrain releases waitDrained; w.mu is held.
func (w *writer) endDrain() {
	if w.drained != nil && !w.ended {
		w.ended = true
		close(w.drained)
	}
}

func (w *writer) run() {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 || w.closed {
			w.running = false
			closing := w.closing && !w.closed
			if closing {
				w.endDrain()
			}
			code, reason := w.endCode, w.endReason
			w.mu.Unlock()
			if closing && w.onDone != nil {
				w.onDone(code, reason)
			}
			return
		}
		batch := w.queue
		w.queue, w.spare = w.spare[:0], batch
		w.mu.Unlock()

		err := w.t.write(batch)
		clear(batch) // let the packages be collected
		if err != nil {
			w.close()
			if w.onError != nil {
				w.onError(err)
			}
			return
		}
	}
}
