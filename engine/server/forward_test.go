package server

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// TestForwarding runs a connector and two chat servers under a monitor hub:
// a client's request for a chat route goes connector → chat server (picked
// by the default router) → connector → client, and the failures answer the
// client with code 500 and say why.
func TestForwarding(t *testing.T) {
	top, offset := chatTopology(t)
	for _, s := range top.Types.Get("chat").Servers {
		s.Restart.Wait = topology.Duration(300 * time.Millisecond)
	}
	hub, addr := hubFor(t)
	run := func(id string) context.CancelFunc {
		app := NewApp()
		app.Handle("chat.chatHandler.echo", func(_ context.Context, s *BackendSession, msg json.RawMessage) (any, error) {
			return map[string]any{"code": 200, "server": id, "frontend": s.FrontendID(), "session": s.ID(), "msg": msg}, nil
		})
		// A game's router sees the message: {"server": ID} picks that one.
		app.Route("chat", func(env scripting.RouterEnv) (scripting.Server, error) {
			for _, s := range env.Servers {
				if s.ID == env.Msg["server"] {
					return s, nil
				}
			}
			return scripting.DefaultPick(env)
		})
		app.Handle("chat.chatHandler.panic", func(context.Context, *BackendSession, json.RawMessage) (any, error) {
			panic("boom")
		})
		app.Handle("chat.chatHandler.slow", func(ctx context.Context, _ *BackendSession, _ json.RawMessage) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		return runServer(t, Config{Topology: top, ID: id, Master: addr, Token: "s3cret", App: app, CallTimeout: 300 * time.Millisecond})
	}
	// The chat servers first, so that the connector's first view of the
	// cluster has both and the router's choice does not change under us.
	stopChat1 := run("chat-server-1")
	stopChat2 := run("chat-server-2")
	stopChat3 := run("chat-server-3")
	for deadline := time.Now().Add(5 * time.Second); len(hub.Members()) < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the chat servers did not register")
		}
	}
	run("connector-server-1")

	ctx := context.Background()
	c, err := client.Dial(ctx, "127.0.0.1:"+strconv.Itoa(3050+offset), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	request := func(route, body string) map[string]any {
		t.Helper()
		return requestJSON(t, c, route, body, 5*time.Second)
	}
	// The connector learns of the chat servers over its monitor link.
	deadline := time.Now().Add(5 * time.Second)
	var got map[string]any
	for {
		got = request("chat.chatHandler.echo", `{"content":"hi"}`)
		if got["code"] == float64(200) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	first, _ := got["server"].(string)
	if got["code"] != float64(200) || !strings.HasPrefix(first, "chat-server-") || got["frontend"] != "connector-server-1" {
		t.Fatalf("echo through a chat server: %v", got)
	}
	if m, _ := got["msg"].(map[string]any); m["content"] != "hi" {
		t.Errorf("the message did not make the trip: %v", got)
	}
	for _, want := range []string{"chat-server-1", "chat-server-2"} {
		if got := request("chat.chatHandler.echo", `{"server":"`+want+`"}`); got["server"] != want {
			t.Errorf("a router that picks by the message: got %v, want %s", got["server"], want)
		}
	}
	// One session's requests stay on one server.
	for range 5 {
		if again := request("chat.chatHandler.echo", `{}`); again["server"] != first {
			t.Errorf("the session moved from %s to %v", first, again["server"])
		}
	}
	if m := request("chat.chatHandler.nosuch", `{}`); m["code"] != float64(500) || !strings.Contains(m["msg"].(string), "no handler for route chat.chatHandler.nosuch") {
		t.Errorf("an unknown route: %v", m)
	}
	// A handler that panics, and one that does not answer in time: the
	// client hears so, and the servers go on.
	if m := request("chat.chatHandler.panic", `{}`); m["code"] != float64(500) || m["msg"] != "internal error in chat.chatHandler.panic" {
		t.Errorf("a panicking handler: %v", m)
	}
	if m := request("chat.chatHandler.slow", `{}`); m["code"] != float64(500) || !strings.Contains(m["msg"].(string), "chat.chatHandler.slow could not be handled") || !strings.Contains(m["msg"].(string), "deadline exceeded") {
		t.Errorf("a handler that times out: %v", m)
	}
	if m := request("chat.chatHandler.echo", `{}`); m["code"] != float64(200) {
		t.Errorf("after the faults: %v", m)
	}
	if m := request("area.areaHandler.move", `{}`); m["code"] != float64(500) || !strings.Contains(m["msg"].(string), "no server of type area") {
		t.Errorf("a type with no servers: %v", m)
	}
	// With the chat servers gone, the client hears so once they are not back
	// within their restart.wait; the connector goes on.
	stopChat1()
	stopChat2()
	stopChat3()
	deadline = time.Now().Add(5 * time.Second)
	for {
		m := request("chat.chatHandler.echo", `{}`)
		if m["code"] == float64(CodeRestarting) && strings.Contains(m["msg"].(string), "is restarting, and was not back within 300ms") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the chat servers gone: %v", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestForwardedRoundTrip: what a frontend encodes, a backend reads back.
func TestForwardedRoundTrip(t *testing.T) {
	for _, f := range []forwarded{
		{session: 7, frontendID: "connector-server-1", uid: "alice", settings: []byte(`{"rid":"lobby"}`), route: "chat.chatHandler.send", body: []byte(`{"content":"hi"}`)},
		{session: -1, route: "chat.chatHandler.echo"},
	} {
		got, err := parseForwarded(f.append(nil))
		if err != nil || got.session != f.session || string(got.frontendID) != f.frontendID || string(got.uid) != f.uid ||
			string(got.settings) != string(f.settings) || string(got.route) != f.route || string(got.body) != string(f.body) {
			t.Errorf("%+v: got %+v %v", f, got, err)
		}
		b := f.append(nil)
		for n := range len(b) - len(f.body) {
			if _, err := parseForwarded(b[:n]); err == nil {
				t.Errorf("%+v cut at %d: no error", f, n)
			}
		}
	}
}
