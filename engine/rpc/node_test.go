package rpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// cluster is a few nodes on loopback that resolve each other by id.
type cluster struct {
	t     testing.TB
	mu    sync.Mutex
	addrs map[string]string
}

func newCluster(t testing.TB) *cluster { return &cluster{t: t, addrs: map[string]string{}} }

func (cl *cluster) resolve(id string) (string, bool) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	a, ok := cl.addrs[id]
	return a, ok
}

// node starts server id with handler h on a free port.
func (cl *cluster) node(id string, h Handler) *Node {
	cl.t.Helper()
	// A long call timeout, so that "fails at once" is told from "timed out"
	// even on a loaded machine.
	n := New(Config{ID: id, Addr: "127.0.0.1:0", Resolve: cl.resolve, Handler: h, CallTimeout: 30 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := n.Start(); err != nil {
		cl.t.Fatal(err)
	}
	cl.mu.Lock()
	cl.addrs[id] = n.Addr().String()
	cl.mu.Unlock()
	cl.t.Cleanup(func() { n.Close() })
	return n
}

func echo(_ context.Context, r *Request) ([]byte, error) {
	switch r.Route {
	case "fail":
		return nil, errors.New("no such room")
	case "panic":
		panic("boom")
	case "slow":
		time.Sleep(2 * time.Second)
	}
	return append([]byte(r.From+":"), r.Body...), nil
}

func TestCallNotifyAndErrors(t *testing.T) {
	cl := newCluster(t)
	a := cl.node("connector-1", echo)
	cl.node("chat-1", echo)
	ctx := context.Background()
	got, err := a.Call(ctx, "chat-1", "echo", []byte("hi"))
	if err != nil || string(got) != "connector-1:hi" {
		t.Fatalf("call: %q %v", got, err)
	}
	_, err = a.Call(ctx, "chat-1", "fail", nil)
	var re *RemoteError
	if !errors.As(err, &re) || re.Server != "chat-1" || re.Route != "fail" || re.Msg != "no such room" {
		t.Errorf("a failing handler: %v", err)
	}
	if _, err = a.Call(ctx, "chat-1", "panic", nil); !errors.As(err, &re) || !strings.Contains(re.Msg, "the handler of panic failed") {
		t.Errorf("a panicking handler: %v", err)
	}
	if got, err := a.Call(ctx, "chat-1", "echo", []byte("still there")); err != nil || string(got) != "connector-1:still there" {
		t.Errorf("after a panic: %q %v", got, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := a.Call(tctx, "chat-1", "slow", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a slow handler: %v", err)
	}
	start := time.Now()
	if _, err := a.Call(ctx, "nosuch", "echo", nil); !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "no server nosuch") {
		t.Errorf("an unknown server: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("a call to an unknown server waited for its timeout")
	}
}

// TestOneConnectionPerPair: the server called back uses the connection its
// caller dialled, and what a handler sends back arrives before its reply.
func TestOneConnectionPerPair(t *testing.T) {
	cl := newCluster(t)
	var mu sync.Mutex
	var seen []string
	frontend := cl.node("connector-1", func(_ context.Context, r *Request) ([]byte, error) {
		mu.Lock()
		seen = append(seen, r.Route+":"+string(r.Body))
		mu.Unlock()
		return []byte("ok"), nil
	})
	backend := cl.node("chat-1", func(ctx context.Context, r *Request) ([]byte, error) {
		for i := range 3 {
			if err := r.Notify("onChat", []byte(fmt.Sprint(i))); err != nil {
				return nil, err
			}
		}
		return []byte("done"), nil
	})
	if _, err := frontend.Call(context.Background(), "chat-1", "chat.send", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := strings.Join(seen, ",")
	mu.Unlock()
	if got != "onChat:0,onChat:1,onChat:2" {
		t.Errorf("pushes before the reply: got %q", got)
	}
	// The backend calls the frontend on the same connection.
	if _, err := backend.Call(context.Background(), "connector-1", "sys.kick", []byte("alice")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Node{frontend, backend} {
		n.mu.Lock()
		conns := len(n.all)
		n.mu.Unlock()
		if conns != 1 {
			t.Errorf("%s has %d connections, want 1", n.cfg.ID, conns)
		}
	}
}

// TestPeerGoneAndBack: calls waiting on a server that dies fail at once;
// the next call reaches it again once it is back.
func TestPeerGoneAndBack(t *testing.T) {
	cl := newCluster(t)
	a := cl.node("connector-1", echo)
	b := cl.node("chat-1", func(ctx context.Context, r *Request) ([]byte, error) {
		<-ctx.Done() // hangs until the server closes
		return nil, ctx.Err()
	})
	errc := make(chan error, 1)
	go func() {
		_, err := a.Call(context.Background(), "chat-1", "hang", nil)
		errc <- err
	}()
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

	if _, err := a.Call(context.Background(), "chat-1", "echo", nil); !errors.Is(err, ErrPeerGone) {
		t.Errorf("a call while it is down: %v", err)
	}
	cl.node("chat-1", echo) // restarted, on a new port
	if got, err := a.Call(context.Background(), "chat-1", "echo", []byte("again")); err != nil || string(got) != "connector-1:again" {
		t.Errorf("after the restart: %q %v", got, err)
	}
}

func TestForget(t *testing.T) {
	cl := newCluster(t)
	a := cl.node("connector-1", echo)
	cl.node("chat-1", func(ctx context.Context, r *Request) ([]byte, error) { <-ctx.Done(); return nil, nil })
	errc := make(chan error, 1)
	go func() { _, err := a.Call(context.Background(), "chat-1", "hang", nil); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	a.Forget("chat-1")
	select {
	case err := <-errc:
		if !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "left the cluster") {
			t.Errorf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Forget did not fail the waiting call")
	}
}

func TestConcurrentCalls(t *testing.T) {
	cl := newCluster(t)
	a := cl.node("connector-1", echo)
	cl.node("chat-1", echo)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			for j := range 40 {
				body := fmt.Sprintf("%d-%d", i, j)
				got, err := a.Call(context.Background(), "chat-1", "echo", []byte(body))
				if err != nil || string(got) != "connector-1:"+body {
					t.Errorf("call %s: %q %v", body, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestBadPeers(t *testing.T) {
	cl := newCluster(t)
	b := cl.node("chat-1", echo)
	for _, junk := range [][]byte{
		{0, 0, 0, 0},                // an empty frame
		{0xff, 0xff, 0xff, 0xff, 1}, // a frame over MaxFrame
		{0, 0, 0, 2, kindCall, 1},   // a call before the hello
		[]byte("GET / HTTP/1.1\r\n\r\n"),
	} {
		nc, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(junk)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := bufio.NewReader(nc).ReadByte(); err == nil {
			t.Errorf("%q: the server answered", junk)
		}
		nc.Close()
	}
	// A good peer is still served.
	a := cl.node("connector-1", echo)
	if _, err := a.Call(context.Background(), "chat-1", "echo", nil); err != nil {
		t.Error(err)
	}
}

func TestFrames(t *testing.T) {
	for _, f := range []frame{
		{kind: kindHello, route: "connector-server-1"},
		{kind: kindCall, seq: 300, timeout: 5000, route: "chat.chatHandler.send", body: []byte(`{"a":1}`)},
		{kind: kindNotify, route: "onChat", body: []byte("x")},
		{kind: kindReply, seq: 1 << 40, status: 1, body: []byte("no such room")},
	} {
		b := appendFrame(nil, &f)
		got, _, err := readFrame(bufio.NewReader(strings.NewReader(string(b))), nil, "")
		if err != nil || got.kind != f.kind || got.seq != f.seq || got.timeout != f.timeout || got.route != f.route || got.status != f.status || string(got.body) != string(f.body) {
			t.Errorf("%+v: got %+v %v", f, got, err)
		}
	}
	for _, bad := range [][]byte{{9}, {kindCall}, {kindCall, 1, 0, 5, 'a'}, {kindReply, 1}} {
		if _, err := decodeFrame(bad, ""); !errors.Is(err, errBadFrame) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// TestFrameBytes pins the example of docs/rpc.md.
func TestFrameBytes(t *testing.T) {
	got := appendFrame(nil, &frame{kind: kindCall, seq: 1, timeout: 5000, route: "chat.chatHandler.send", body: []byte("{}")})
	want := append(append([]byte{0, 0, 0, 0x1c, 2, 1, 0x88, 0x27, 0x15}, "chat.chatHandler.send"...), '{', '}')
	if string(got) != string(want) {
		t.Errorf("got % x\nwant % x", got, want)
	}
}

// TestHandlerGetsTheCallersDeadline: a handler's context ends when its
// caller stops waiting, so that work nobody waits for stops.
func TestHandlerGetsTheCallersDeadline(t *testing.T) {
	cl := newCluster(t)
	a := cl.node("connector-1", echo)
	ended := make(chan time.Duration, 1)
	cl.node("chat-1", func(ctx context.Context, r *Request) ([]byte, error) {
		dl, ok := ctx.Deadline()
		<-ctx.Done()
		if !ok {
			dl = time.Time{}
		}
		ended <- time.Until(dl)
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// Either end may notice the deadline first: the caller's context, or
	// the handler's, whose error comes back as the answer.
	var re *RemoteError
	if _, err := a.Call(ctx, "chat-1", "wait", nil); !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &re) && re.Msg == context.DeadlineExceeded.Error()) {
		t.Errorf("the call: %v", err)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context outlived its caller's deadline")
	}
}
