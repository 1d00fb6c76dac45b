package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/protocol"
	"github.com/pomeloctl/pomeloctl/internal/testlog"
)

// start runs a frontend on a loopback port with an echo handler, a handler that
// pushes, one that panics and one that binds a uid; it is closed when the test ends.
func start(t *testing.T, cfg Config) (*Server, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	cfg.ServerID, cfg.ServerType, cfg.Addr = "connector-server-1", "connector", "127.0.0.1:0"
	cfg.Logger = logs.Logger()
	s := New(cfg)
	s.Handle("entryHandler.echo", func(_ context.Context, _ *Session, r *Request) (any, error) {
		return r.Body, nil
	})
	s.Handle("entryHandler.push", func(_ context.Context, sess *Session, r *Request) (any, error) {
		return map[string]int{"code": 200}, sess.Push("onPush", r.Body)
	})
	s.Handle("entryHandler.panic", func(context.Context, *Session, *Request) (any, error) {
		panic("boom")
	})
	s.Handle("entryHandler.enter", func(_ context.Context, sess *Session, r *Request) (any, error) {
		var req struct{ UID string }
		if err := r.Decode(&req); err != nil {
			return nil, err
		}
		return map[string]int64{"session": sess.ID()}, sess.Bind(req.UID)
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, logs
}

func dial(t *testing.T, s *Server, opts client.Options) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.Addr().String(), opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func request(t *testing.T, c *client.Client, route, body string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Request(ctx, route, []byte(body))
	if err != nil {
		t.Fatalf("request %s: %v", route, err)
	}
	return string(resp)
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("after 5s: %s", what)
}

func TestRequestsOverBothTransports(t *testing.T) {
	s, logs := start(t, Config{Heartbeat: time.Second})
	for _, tcp := range []bool{false, true} {
		name := map[bool]string{false: "ws", true: "tcp"}[tcp]
		t.Run(name, func(t *testing.T) {
			pushes := make(chan string, 4)
			c := dial(t, s, client.Options{TCP: tcp, OnPush: func(route string, body []byte) { pushes <- route + " " + string(body) }})
			if c.Sys().Heartbeat != 1 {
				t.Errorf("handshake heartbeat: got %d, want 1", c.Sys().Heartbeat)
			}
			if got := request(t, c, "connector.entryHandler.echo", `{"msg":"hi"}`); got != `{"msg":"hi"}` {
				t.Errorf("echo: got %s", got)
			}
			if got := request(t, c, "connector.entryHandler.push", `{"n":1}`); got != `{"code":200}` {
				t.Errorf("push handler's response: got %s", got)
			}
			select {
			case p := <-pushes:
				if p != `onPush {"n":1}` {
					t.Errorf("push: got %s", p)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no push")
			}
			if got := request(t, c, "connector.entryHandler.nosuch", `{}`); !strings.Contains(got, `"code":404`) {
				t.Errorf("unknown route: got %s, want a 404 error body", got)
			}
			if got := request(t, c, "chat.chatHandler.send", `{}`); !strings.Contains(got, `"code":404`) || !strings.Contains(got, "chat.chatHandler.send") {
				t.Errorf("another type's route without forwarding: got %s", got)
			}
			if got := request(t, c, "connector.entryHandler.panic", `{}`); !strings.Contains(got, `"code":500`) {
				t.Errorf("a panicking handler: got %s, want a 500 error body", got)
			}
			// the connection still serves after a handler panicked
			if got := request(t, c, "connector.entryHandler.echo", `[1]`); got != `[1]` {
				t.Errorf("echo after a panic: got %s", got)
			}
			if err := c.Notify("connector.entryHandler.echo", []byte(`{}`)); err != nil {
				t.Errorf("notify: %v", err)
			}
		})
	}
	if !strings.Contains(logs.String(), "handler panicked") {
		t.Errorf("the panic was not logged:\n%s", logs)
	}
}

func TestHeartbeats(t *testing.T) {
	s, logs := start(t, Config{Heartbeat: time.Second})

	// A client that answers heartbeats stays connected past two intervals.
	c := dial(t, s, client.Options{})
	time.Sleep(2500 * time.Millisecond)
	if got := request(t, c, "connector.entryHandler.echo", `1`); got != `1` {
		t.Errorf("a heartbeating client: got %s", got)
	}

	// A client that goes silent after the handshake is dropped after 2 intervals.
	raw := rawDial(t, s)
	raw.handshake(t)
	start := time.Now()
	raw.waitClosed(t, 5*time.Second)
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("a silent client was dropped after %s, before two heartbeat intervals", d)
	}
	eventually(t, "the drop is logged", func() bool { return strings.Contains(logs.String(), "silent past the heartbeat timeout") })
}

func TestBadInput(t *testing.T) {
	s, logs := start(t, Config{MaxPackageSize: 1024})
	healthy := dial(t, s, client.Options{TCP: true})

	for _, tc := range []struct {
		name string
		send []byte
		want string // in the answer before the close, if any
	}{
		{"handshake not JSON", packet(protocol.Handshake, []byte("hello")), `{"code":500}`},
		{"handshake without sys", packet(protocol.Handshake, []byte(`{"user":{}}`)), `{"code":500}`},
		{"oversized package", []byte{byte(protocol.Handshake), 0xff, 0xff, 0xff}, ""},
		{"unknown package type", []byte{9, 0, 0, 0}, ""},
		{"data before handshake", packet(protocol.Data, []byte{0, 1, 'a'}), ""},
		{"neither WebSocket nor Pomelo", []byte("PING\r\n"), ""},
		{"an HTTP GET that is no upgrade", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 400 Bad Request"},
		{"a GET that is not HTTP", []byte("GARBAGE\r\n\r\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := rawDial(t, s)
			raw.write(t, tc.send)
			got := raw.waitClosed(t, 5*time.Second)
			if !strings.Contains(string(got), tc.want) {
				t.Errorf("got %q before the close, want %q", got, tc.want)
			}
		})
	}
	// a malformed message after a good handshake closes that connection only
	raw := rawDial(t, s)
	raw.handshake(t)
	raw.write(t, packet(protocol.Data, []byte{0x00, 0x80}))
	raw.waitClosed(t, 5*time.Second)

	if got := request(t, healthy, "connector.entryHandler.echo", `"still here"`); got != `"still here"` {
		t.Errorf("a healthy client after the bad ones: got %s", got)
	}
	for _, want := range []string{"handshake refused", "client dropped", "neither an accepted WebSocket upgrade nor a Pomelo TCP handshake", "WebSocket upgrade failed", "not an HTTP request"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line with %q:\n%s", want, logs)
		}
	}
}

func TestMaxConnectionsAndKicks(t *testing.T) {
	s, _ := start(t, Config{MaxConnections: 2, SingleSession: true})
	kicked := make(chan string, 1)
	a := dial(t, s, client.Options{OnKick: func(r string) { kicked <- r }})
	b := dial(t, s, client.Options{TCP: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c, err := client.Dial(ctx, s.Addr().String(), client.Options{}); err == nil {
		c.Close()
		t.Fatal("a third client connected past maxConnections 2")
	}

	request(t, a, "connector.entryHandler.enter", `{"uid":"alice"}`)
	if got := s.Sessions().ByUID("alice"); len(got) != 1 {
		t.Fatalf("sessions of alice: %d", len(got))
	}
	// single session: binding alice on b kicks a
	request(t, b, "connector.entryHandler.enter", `{"uid":"alice"}`)
	select {
	case r := <-kicked:
		if r != "logged in elsewhere" {
			t.Errorf("kick reason: %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first session of alice was not kicked")
	}
	eventually(t, "a's session is gone", func() bool { return s.Sessions().Len() == 1 })

	// a kicked client frees its place: a new one may connect
	c := dial(t, s, client.Options{})
	if n := s.Sessions().KickUID("alice", "maintenance"); n != 1 {
		t.Errorf("KickUID: kicked %d sessions, want 1", n)
	}
	<-b.Done()
	if !strings.Contains(b.Err().Error(), "maintenance") {
		t.Errorf("b ended with %v, want the kick's reason", b.Err())
	}
	if got := request(t, c, "connector.entryHandler.echo", `2`); got != `2` {
		t.Errorf("echo: %s", got)
	}
}

func TestSlowClientIsKicked(t *testing.T) {
	s, logs := start(t, Config{WriteQueue: 4})
	var sess *Session
	s.Handle("entryHandler.flood", func(_ context.Context, ss *Session, _ *Request) (any, error) {
		sess = ss
		big := strings.Repeat("x", 60<<10)
		for range 200 {
			if err := ss.Push("onFlood", big); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	raw := rawDial(t, s)
	raw.handshake(t)
	// request the flood, then read nothing: the kernel buffers fill, the queue
	// fills, and the server must kick rather than buffer without limit
	raw.write(t, packet(protocol.Data, append([]byte{0x00, 1, byte(len("connector.entryHandler.flood"))}, []byte("connector.entryHandler.flood{}")...)))
	eventually(t, "the slow client is kicked", func() bool { return strings.Contains(logs.String(), "does not read fast enough") })
	eventually(t, "its session is closed", func() bool { return sess != nil && sess.isClosed() })
}

// rawConn is a hand-driven TCP client, for what a well-behaved client never sends.
type rawConn struct {
	c net.Conn
}

func rawDial(t *testing.T, s *Server) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c: c}
}

func (r *rawConn) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := r.c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (r *rawConn) handshake(t *testing.T) {
	t.Helper()
	r.write(t, packet(protocol.Handshake, []byte(`{"sys":{"type":"raw","version":"1"}}`)))
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	pr := protocol.NewPacketReader(r.c, 1<<20)
	typ, body, err := pr.Next()
	if err != nil || typ != protocol.Handshake || !bytes.Contains(body, []byte(`"code":200`)) {
		t.Fatalf("handshake: %v %v %s", typ, err, body)
	}
	_ = r.c.SetReadDeadline(time.Time{})
	r.write(t, packet(protocol.HandshakeAck, nil))
}

// waitClosed reads until the server closes the connection and returns what it sent.
func (r *rawConn) waitClosed(t *testing.T, within time.Duration) []byte {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(within))
	got, err := io.ReadAll(r.c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server did not close the connection within %s (got %q)", within, got)
	}
	return got
}

func packet(t protocol.PacketType, body []byte) []byte {
	b, err := protocol.AppendPacket(nil, t, body)
	if err != nil {
		panic(err)
	}
	return b
}

var _ = json.Valid

// TestShutdownDrains: a graceful stop refuses new clients and new requests,
// lets the request being handled answer, then kicks every client.
func TestShutdownDrains(t *testing.T) {
	s, _ := start(t, Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // before the server's Close, which waits for the handler
	s.Handle("entryHandler.slow", func(context.Context, *Session, *Request) (any, error) {
		close(entered)
		<-release
		return map[string]int{"code": 200}, nil
	})
	kicked := make(chan string, 1)
	slow := dial(t, s, client.Options{OnKick: func(r string) { kicked <- r }})
	other := dial(t, s, client.Options{})
	answer := make(chan error, 1)
	go func() {
		_, err := slow.Request(context.Background(), "connector.entryHandler.slow", []byte(`{}`))
		answer <- err
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- s.Shutdown(ctx)
	}()
	// New requests are refused while the slow one runs.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := other.Request(ctx, "connector.entryHandler.echo", []byte(`{"n":1}`))
		cancel()
		if err == nil && string(resp) == `{"code":500,"msg":"the server is stopping"}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a request during the drain: %s %v, want a refusal", resp, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Error("a new connection was accepted during the drain")
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned while a request was being handled: %v", err)
	default:
	}
	free()
	if err := <-answer; err != nil {
		t.Errorf("the request being handled got no answer: %v", err)
	}
	select {
	case r := <-kicked:
		if r != "server stopping" {
			t.Errorf("kick reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Error("no kick")
	}
	if err := <-stopped; err != nil {
		t.Error(err)
	}
}

// TestKickAll: the clients are kicked once the request being handled has
// answered; what they send meanwhile is dropped, not refused (they learn
// why from the kick); and the server serves on for new clients.
func TestKickAll(t *testing.T) {
	s, _ := start(t, Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	s.Handle("entryHandler.slow", func(context.Context, *Session, *Request) (any, error) {
		close(entered)
		<-release
		return map[string]int{"code": 200}, nil
	})
	kicked := make(chan string, 2)
	slow := dial(t, s, client.Options{OnKick: func(r string) { kicked <- r }})
	other := dial(t, s, client.Options{OnKick: func(r string) { kicked <- r }})
	answer := make(chan error, 1)
	go func() {
		_, err := slow.Request(context.Background(), "connector.entryHandler.slow", []byte(`{}`))
		answer <- err
	}()
	<-entered
	done := make(chan int, 1)
	go func() { done <- s.KickAll(context.Background(), "the server is being updated") }()
	// Sent while the kick waits for the slow request: no answer, no error code.
	for !s.kicking.Load() {
		time.Sleep(time.Millisecond)
	}
	dropped := make(chan error, 1)
	go func() {
		resp, err := other.Request(context.Background(), "connector.entryHandler.echo", []byte(`{"n":1}`))
		if err == nil {
			err = fmt.Errorf("an answer during the kick: %s", resp)
		}
		dropped <- err
	}()
	time.Sleep(50 * time.Millisecond)
	free()
	if err := <-answer; err != nil {
		t.Errorf("the request being handled got no answer: %v", err)
	}
	if n := <-done; n != 2 {
		t.Errorf("kicked %d clients, want 2", n)
	}
	for range 2 {
		select {
		case r := <-kicked:
			if r != "the server is being updated" {
				t.Errorf("kick reason %q", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a client was not kicked")
		}
	}
	if err := <-dropped; err == nil || !strings.Contains(err.Error(), "kicked: the server is being updated") {
		t.Errorf("the request sent during the kick: %v, want it to end with the kick", err)
	}
	fresh := dial(t, s, client.Options{})
	if resp, err := fresh.Request(context.Background(), "connector.entryHandler.echo", []byte(`{"n":2}`)); err != nil || !strings.Contains(string(resp), `"n":2`) {
		t.Errorf("a new client after the kick: %s %v", resp, err)
	}
}
