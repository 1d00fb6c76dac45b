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
type writer struct {
	t   transport
	max int

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

func newWriter(t transport, max int) *writer { return &writer{t: t, max: max} }

// send queues one encoded package (the writer keeps the slice). It never blocks.
func (w *writer) send(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed || w.closing:
		return errClosed
	case len(w.queue) >= w.max:
		return errSlowClient
	}
	w.queue = append(w.queue, p)
	if !w.running {
		w.running = true
		go w.run()
	}
	return nil
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
		w.running = true
		go w.run()
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
