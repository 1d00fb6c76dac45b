package connector

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
)

// recorder is a transport that keeps each write's packages.
type recorder struct {
	mu     sync.Mutex
	writes [][]string
	wrote  chan struct{}
}

func newRecorder() *recorder { return &recorder{wrote: make(chan struct{}, 100)} }

func (r *recorder) write(pkgs [][]byte) error {
	var w []string
	for _, p := range pkgs {
		w = append(w, string(p))
	}
	r.mu.Lock()
	r.writes = append(r.writes, w)
	r.mu.Unlock()
	r.wrote <- struct{}{}
	return nil
}

func (r *recorder) got() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.writes)
}

func (r *recorder) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing was written")
	}
}

func (*recorder) readPackets(func(protocol.PacketType, []byte) error, func() bool) error {
	return nil
}
func (*recorder) setReadDeadline(time.Time) error { return nil }
func (*recorder) end(int, string) error           { return nil }
func (*recorder) close() error                    { return nil }
func (*recorder) remoteAddr() string              { return "test" }
func (*recorder) kind() string                    { return "test" }

// With a flush interval, pushes wait for one another and leave in one write
// when the interval ends.
func TestPushesWaitForTheFlushInterval(t *testing.T) {
	r := newRecorder()
	w := newWriter(r, 10, time.Hour)
	for _, p := range []string{"a", "b", "c"} {
		if err := w.push([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.got(); len(got) != 0 {
		t.Fatalf("written before the interval ended: %q", got)
	}
	w.fire() // what the timer does
	if got := r.got(); !slices.Equal(got[0], []string{"a", "b", "c"}) || len(got) != 1 {
		t.Fatalf("writes %q, want one of a, b, c", got)
	}
}

// A reply never waits, and takes the waiting pushes with it, in order.
func TestReplyTakesWaitingPushes(t *testing.T) {
	r := newRecorder()
	w := newWriter(r, 10, time.Hour)
	w.push([]byte("push"))
	w.send([]byte("reply"))
	r.wait(t)
	if got := r.got(); len(got) != 1 || !slices.Equal(got[0], []string{"push", "reply"}) {
		t.Fatalf("writes %q, want one of push, reply", got)
	}
	w.fire() // the stopped timer's late call writes nothing twice
	if got := r.got(); len(got) != 1 {
		t.Fatalf("writes %q after the timer, want still one", got)
	}
}

// The timer ends the interval by itself, and the writer can wait again after.
func TestFlushIntervalEnds(t *testing.T) {
	r := newRecorder()
	w := newWriter(r, 10, time.Millisecond)
	for round := range 3 {
		w.push([]byte{'a' + byte(round)})
		r.wait(t)
	}
	var all []string
	for _, wr := range r.got() {
		all = append(all, wr...)
	}
	if !slices.Equal(all, []string{"a", "b", "c"}) {
		t.Fatalf("written %q, want a, b, c", all)
	}
}

// Closing drops waiting pushes; the interval's end writes nothing.
func TestCloseDropsWaitingPushes(t *testing.T) {
	r := newRecorder()
	w := newWriter(r, 10, time.Hour)
	w.push([]byte("a"))
	w.close()
	w.fire()
	if err := w.push([]byte("b")); err != errClosed {
		t.Fatalf("push after close: %v, want errClosed", err)
	}
	if got := r.got(); len(got) != 0 {
		t.Fatalf("written after close: %q", got)
	}
}

// Without a flush interval a push is written at once.
func TestPushWithoutFlushIntervalIsWrittenAtOnce(t *testing.T) {
	r := newRecorder()
	w := newWriter(r, 10, 0)
	w.push([]byte("a"))
	r.wait(t)
	if got := r.got(); len(got) != 1 {
		t.Fatalf("writes %q", got)
	}
}
