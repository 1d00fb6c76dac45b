package rpc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCallsNeverWait: every call runs at once, however many run already,
// past the workers kept idle too, and again once the workers are idle.
func TestCallsNeverWait(t *testing.T) {
	const n = maxIdleWorkers + 50
	cl := newCluster(t)
	a := cl.node("connector-1", echo)
	var started atomic.Int32
	all := make(chan struct{})
	var once sync.Once
	cl.node("chat-1", func(ctx context.Context, r *Request) ([]byte, error) {
		if started.Add(1) == n {
			once.Do(func() { close(all) })
		}
		select {
		case <-all:
			return r.Body, nil
		case <-ctx.Done():
			return nil, errors.New("not every call was running")
		}
	})
	for round := range 2 {
		started.Store(0)
		all = make(chan struct{})
		once = sync.Once{}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := a.Call(ctx, "chat-1", "wait", []byte("x")); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			})
		}
		wg.Wait()
		cancel()
	}
}

// TestHandlerContextEnds: a handler's context is over once the handler
// returns, whether or not it looked at it before, and when the node closes.
func TestHandlerContextEnds(t *testing.T) {
	cl := newCluster(t)
	a := cl.node("connector-1", echo)
	ctxs := make(chan context.Context, 2)
	running := make(chan struct{})
	b := cl.node("chat-1", func(ctx context.Context, r *Request) ([]byte, error) {
		switch r.Route {
		case "looked":
			_ = ctx.Done()
		case "child":
			// A context derived from it ends at the caller's deadline.
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			select {
			case <-child.Done():
				return nil, child.Err()
			case <-time.After(10 * time.Second):
				return nil, errors.New("the derived context did not end")
			}
		case "block":
			close(running)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("no deadline")
		}
		ctxs <- ctx
		return nil, nil
	})
	bg := context.Background()
	for _, route := range []string{"looked", "not looked"} {
		if _, err := a.Call(bg, "chat-1", route, nil); err != nil {
			t.Fatalf("%s: %v", route, err)
		}
		ctx := <-ctxs
		select {
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.Canceled) {
				t.Errorf("%s: the context ended with %v", route, ctx.Err())
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: the context outlived its handler", route)
		}
	}
	short, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	var re *RemoteError
	if _, err := a.Call(short, "chat-1", "child", nil); !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &re) && re.Msg == context.DeadlineExceeded.Error()) {
		t.Errorf("child: %v", err)
	}
	a.Go(bg, "chat-1", "block", nil, func([]byte, error) {})
	<-running
	closed := make(chan struct{})
	go func() {
		b.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Error("closing the node did not end its handler's context")
	}
}

// TestRouteReused: a route like the previous frame's costs no allocation.
func TestRouteReused(t *testing.T) {
	b := appendFrame(nil, &frame{kind: kindCall, seq: 7, route: "sys.forward", body: []byte("{}")})[4:]
	prev := "sys.forward"
	if allocs := testing.AllocsPerRun(100, func() {
		if f, err := decodeFrame(b, prev); err != nil || f.route != prev {
			t.Fatal(f, err)
		}
	}); allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}
