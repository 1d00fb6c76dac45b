package rpc

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// goCall waits for the one answer Go gives, and fails the test if a second
// one comes.
func goCall(ctx context.Context, t *testing.T, n *Node, peer, route string, body []byte) (string, error) {
	t.Helper()
	type answer struct {
		body []byte
		err  error
	}
	ch := make(chan answer, 2)
	var calls atomic.Int32
	n.Go(ctx, peer, route, body, func(b []byte, err error) {
		calls.Add(1)
		ch <- answer{b, err}
	})
	select {
	case a := <-ch:
		time.Sleep(10 * time.Millisecond) // room for a second answer, which must not come
		if c := calls.Load(); c != 1 {
			t.Errorf("%s: done ran %d times", route, c)
		}
		return string(a.body), a.err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", route)
		return "", nil
	}
}

func TestGo(t *testing.T) {
	cl := newCluster(t)
	a := cl.node("connector-1", echo)
	b := cl.node("chat-1", func(ctx context.Context, r *Request) ([]byte, error) {
		if r.Route == "hang" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return echo(ctx, r)
	})
	ctx := context.Background()
	if got, err := goCall(ctx, t, a, "chat-1", "echo", []byte("hi")); err != nil || got != "connector-1:hi" {
		t.Fatalf("go: %q %v", got, err)
	}
	var re *RemoteError
	if _, err := goCall(ctx, t, a, "chat-1", "fail", nil); !errors.As(err, &re) || re.Route != "fail" || re.Msg != "no such room" {
		t.Errorf("a failing handler: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := goCall(tctx, t, a, "chat-1", "slow", nil); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "slow on chat-1: no answer") {
		t.Errorf("past its deadline: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the deadline of 100ms answered after %s", d)
	}
	if _, err := goCall(ctx, t, a, "nosuch", "echo", nil); !errors.Is(err, ErrPeerGone) {
		t.Errorf("an unknown server: %v", err)
	}
	errc := make(chan error, 1)
	a.Go(ctx, "chat-1", "hang", nil, func(_ []byte, err error) { errc <- err })
	time.Sleep(50 * time.Millisecond)
	b.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrPeerGone) {
			t.Errorf("a call to a server that died: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call to a server that died waited for its timeout")
	}
}
