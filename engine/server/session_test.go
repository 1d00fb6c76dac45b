package server

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/topology"
)

// pushes records what a client is pushed, in order.
type pushes struct {
	mu  sync.Mutex
	got []string
}

func (p *pushes) add(route string, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, route+" "+string(body))
}

func (p *pushes) all() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.got, "\n")
}

// TestBackendSessions: a backend binds a session, writes settings back,
// keeps users in a channel and pushes to them (what it pushes to its caller
// arrives before its answer), and kicks.
func TestBackendSessions(t *testing.T) {
	offset, err := freeport.Offset(3005, 3050, 3051, 4050, 4051, 6050)
	if err != nil {
		t.Fatal(err)
	}
	top, _, err := topology.Load("../../examples/chat/topology.yaml", topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	// One chat server runs: the only one declared, since requests for a
	// declared server that is not running wait for it.
	chat := top.Types.Get("chat")
	chat.Servers = chat.Servers[:1]
	_, addr := hubFor(t)
	app := NewApp()
	app.Handle("chat.chatHandler.enter", func(ctx context.Context, s *BackendSession, msg json.RawMessage) (any, error) {
		var m struct{ UID, RID string }
		if err := json.Unmarshal(msg, &m); err != nil {
			return nil, err
		}
		if err := s.Bind(ctx, m.UID); err != nil {
			return nil, err
		}
		s.Set("rid", m.RID)
		if err := s.Push(ctx, "rid"); err != nil {
			return nil, err
		}
		ch := s.Services().Channels().Get(m.RID, true)
		if !ch.Add(m.UID, s.FrontendID()) {
			return map[string]any{"code": 500, "error": true}, nil
		}
		if err := ch.Push(ctx, "onAdd", map[string]string{"user": m.UID}); err != nil {
			return nil, err
		}
		return map[string]any{"users": ch.Members()}, nil
	})
	app.Handle("chat.chatHandler.whoami", func(_ context.Context, s *BackendSession, _ json.RawMessage) (any, error) {
		return map[string]any{"uid": s.UID(), "rid": s.Get("rid")}, nil
	})
	app.Handle("chat.chatHandler.leave", func(ctx context.Context, s *BackendSession, _ json.RawMessage) (any, error) {
		return nil, s.Kick(ctx, "bye")
	})
	for _, id := range []string{"chat-server-1", "connector-server-1", "connector-server-2"} {
		runServer(t, Config{Topology: top, ID: id, Master: addr, Token: "s3cret", App: app})
	}
	ctx := context.Background()
	var alicePushes, bobPushes pushes
	kicked := make(chan string, 1)
	alice, err := client.Dial(ctx, "127.0.0.1:"+strconv.Itoa(3050+offset), client.Options{OnPush: alicePushes.add, OnKick: func(r string) { kicked <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bob, err := client.Dial(ctx, "127.0.0.1:"+strconv.Itoa(3051+offset), client.Options{OnPush: bobPushes.add})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	call := func(c *client.Client, route, body string) string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			resp, err := c.Request(rctx, route, []byte(body))
			cancel()
			if err != nil {
				t.Fatalf("%s: %v", route, err)
			}
			// Until the connector has heard of the chat server.
			if !strings.Contains(string(resp), "no server of type chat") || time.Now().After(deadline) {
				return string(resp)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if got := call(alice, "chat.chatHandler.enter", `{"uid":"alice","rid":"lobby"}`); got != `{"users":["alice"]}` {
		t.Fatalf("alice enters: %s", got)
	}
	// Her onAdd came before the answer, on the same connection.
	if got := alicePushes.all(); got != `onAdd {"user":"alice"}` {
		t.Errorf("alice's pushes when her answer came: %q", got)
	}
	if got := call(bob, "chat.chatHandler.enter", `{"uid":"bob","rid":"lobby"}`); got != `{"users":["alice","bob"]}` {
		t.Fatalf("bob enters: %s", got)
	}
	waitPush(t, &alicePushes, `onAdd {"user":"bob"}`)
	// The frontend's session was bound and got the setting.
	if got := call(alice, "chat.chatHandler.whoami", `{}`); got != `{"rid":"lobby","uid":"alice"}` {
		t.Errorf("alice's session after enter: %s", got)
	}
	if got := call(bob, "chat.chatHandler.enter", `{"uid":"carol","rid":"lobby"}`); !strings.Contains(got, "already bound") {
		t.Errorf("binding a bound session again: %s", got)
	}
	// The kick comes before the answer, which the client never gets.
	if _, err := alice.Request(ctx, "chat.chatHandler.leave", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "kicked: bye") {
		t.Errorf("leave: %v", err)
	}
	select {
	case r := <-kicked:
		if r != "bye" {
			t.Errorf("kick reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Error("alice was not kicked")
	}
}

func waitPush(t *testing.T, p *pushes, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.all(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no push %q; got:\n%s", want, p.all())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSingleSession: with connector.singleSession, a second login of a user
// on a frontend kicks the first.
func TestSingleSession(t *testing.T) {
	offset, err := freeport.Offset(3050, 4050)
	if err != nil {
		t.Fatal(err)
	}
	opts := topology.Options{PortOffset: &offset}
	src, err := os.ReadFile("../../examples/chat/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "      useProtobuf: true\n", "      useProtobuf: true\n      singleSession: true\n", 1)
	top, _, err := topology.LoadBytes("../../examples/chat/topology.yaml", []byte(text), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !top.Types.Get("connector").Connector.SingleSession {
		t.Fatal("singleSession did not load")
	}
	app := NewApp()
	app.HandleFrontend("connector.entryHandler.login", func(_ context.Context, s *FrontendSession, msg json.RawMessage) (any, error) {
		var m struct{ UID string }
		if err := json.Unmarshal(msg, &m); err != nil {
			return nil, err
		}
		return map[string]int{"code": 200}, s.Bind(m.UID)
	})
	runServer(t, Config{Topology: top, ID: "connector-server-1", App: app})
	ctx := context.Background()
	kicked := make(chan string, 1)
	addr := "127.0.0.1:" + strconv.Itoa(3050+offset)
	first, err := client.Dial(ctx, addr, client.Options{OnKick: func(r string) { kicked <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := client.Dial(ctx, addr, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, c := range []*client.Client{first, second} {
		if _, err := c.Request(ctx, "connector.entryHandler.login", []byte(`{"uid":"alice"}`)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case r := <-kicked:
		if r != "logged in elsewhere" {
			t.Errorf("kick reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Error("the first session was not kicked")
	}
}
