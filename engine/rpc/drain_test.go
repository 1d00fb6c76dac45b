package rpc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A draining node answers the calls it is handling, refuses new ones
// without running them (ErrStopping, not a handler's error), and still
// serves notifies; Drain returns once the calls it was handling are answered.
func TestDrainAnswersWhatItHandlesAndRefusesTheRest(t *testing.T) {
	cl := newCluster(t)
	entered, release := make(chan struct{}), make(chan struct{})
	ran := make(chan string, 16)
	b := cl.node("chat-1", func(_ context.Context, r *Request) ([]byte, error) {
		ran <- r.Route
		if r.Route == "slow" {
			close(entered)
			<-release
		}
		return []byte("done " + r.Route), nil
	})
	a := cl.node("connector-1", echo)
	ctx := context.Background()

	slow := make(chan error, 1)
	go func() {
		got, err := a.Call(ctx, "chat-1", "slow", nil)
		if err == nil && string(got) != "done slow" {
			err = errors.New("answered " + string(got))
		}
		slow <- err
	}()
	<-entered
	<-ran
	drained := make(chan error, 1)
	go func() {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		drained <- b.Drain(dctx)
	}()
	// Drain has begun once calls are refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := a.Call(ctx, "chat-1", "new", nil)
		if errors.Is(err, ErrStopping) {
			var re *RemoteError
			if errors.As(err, &re) {
				t.Errorf("a refusal is not a handler's error: %v", err)
			}
			break
		}
		if err != nil {
			t.Fatalf("a call while draining: %v; want ErrStopping", err)
		}
		<-ran // it ran: Drain had not begun yet
		if time.Now().After(deadline) {
			t.Fatal("calls are never refused")
		}
		time.Sleep(time.Millisecond)
	}
	if err := a.Notify(ctx, "chat-1", "note", nil); err != nil {
		t.Fatal(err)
	}
	if r := <-ran; r != "note" {
		t.Errorf("ran %q while draining; want only the notify", r)
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned while a call was being handled: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-slow; err != nil {
		t.Errorf("the call being handled: %v; want its answer", err)
	}
	if err := <-drained; err != nil {
		t.Errorf("Drain: %v", err)
	}
}

// Drain gives up when its context ends, saying how many calls were left.
func TestDrainDeadline(t *testing.T) {
	cl := newCluster(t)
	release := make(chan struct{})
	defer close(release)
	b := cl.node("chat-1", func(context.Context, *Request) ([]byte, error) { <-release; return nil, nil })
	a := cl.node("connector-1", echo)
	go func() { _, _ = a.Call(context.Background(), "chat-1", "stuck", nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for b.active.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Drain past its deadline: %v", err)
	}
}

// A server that forgets a peer that left still answers the calls that peer
// made before it left (a frontend that says bye, then drains) and takes
// new ones from it, while its own calls to the peer fail at once and its
// next one dials again.
func TestForgetAnswersWhatThePeerIsOwed(t *testing.T) {
	cl := newCluster(t)
	entered, release := make(chan struct{}), make(chan struct{})
	b := cl.node("chat-1", func(_ context.Context, r *Request) ([]byte, error) {
		if r.Route == "slow" {
			close(entered)
			<-release
		}
		return []byte("answer " + r.Route), nil
	})
	a := cl.node("connector-1", func(ctx context.Context, _ *Request) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() })
	answered := make(chan error, 1)
	go func() {
		got, err := a.Call(context.Background(), "chat-1", "slow", nil)
		if err == nil && string(got) != "answer slow" {
			err = errors.New("answered " + string(got))
		}
		answered <- err
	}()
	<-entered
	waiting := make(chan error, 1)
	go func() { _, err := b.Call(context.Background(), "connector-1", "hangs", nil); waiting <- err }()
	time.Sleep(20 * time.Millisecond)
	b.Forget("connector-1") // connector-1 left while its call runs
	if err := <-waiting; !errors.Is(err, ErrPeerGone) {
		t.Errorf("a call to the peer that left: %v; want ErrPeerGone at once", err)
	}
	for i := range 20 { // more calls from the peer, as a drain makes
		if got, err := a.Call(context.Background(), "chat-1", "more", nil); err != nil || string(got) != "answer more" {
			t.Fatalf("call %d from the peer after it left: %q %v", i, got, err)
		}
	}
	close(release)
	if err := <-answered; err != nil {
		t.Errorf("the call made before the peer left: %v; want its answer", err)
	}
}
