package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/internal/nodeclient"
)

type step = nodeclient.Step

// login is chatofpomelo's client logging in: the gate names a connector,
// the client leaves the gate for it and enters the room.
func login(gatePort int, name, rid string) []step {
	return []step{
		{Op: "init", Port: gatePort},
		{Op: "request", Route: "gate.gateHandler.queryEntry", Msg: map[string]string{"uid": name}},
		{Op: "disconnect"},
		{Op: "init", UseLastResponse: true},
		{Op: "request", Route: "connector.entryHandler.enter", Msg: map[string]string{"username": name, "rid": rid}},
	}
}

// TestChatDemoWithNetEaseClient runs `pomeloctl up` on each chat example
// (examples/chat, the game in Go; examples/chat-expr, the same game in
// YAML alone, run by the stock binary) and plays chatofpomelo's whole
// flow with NetEase's own browser client (pomelo@2.2.7's build.js under
// Node, over WebSocket) and with npm pomelo-protocol over raw TCP: two
// users, onAdd, chat to all and to one (onChat in pomelo-protobuf), a
// duplicate login refused, onLeave.
func TestChatDemoWithNetEaseClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env, err := nodeclient.Setup(ctx)
	if err != nil {
		t.Fatalf("this test needs Node and npm's Pomelo clients: %v", err)
	}
	for _, example := range []string{chat, chatExpr} {
		t.Run(filepath.Base(filepath.Dir(example)), func(t *testing.T) {
			data, err := os.ReadFile(example)
			if err != nil {
				t.Fatal(err)
			}
			playChat(ctx, t, env, string(data))
		})
	}
}

// playChat plays chatofpomelo's flow against a cluster of topology.
func playChat(ctx context.Context, t *testing.T, env *nodeclient.Env, topology string) {
	c := newTestCluster(t, topology)
	c.must("up", c.file, "-d", "--timeout", "30s")
	defer c.must("down")
	gate := 3014 + c.offset

	for _, script := range []string{nodeclient.WSClient, nodeclient.TCPClient} {
		t.Run(script, func(t *testing.T) {
			room := "room-" + strings.TrimSuffix(script, ".js")
			alice, err := env.Start(ctx, script, nodeclient.Scenario{TimeoutMs: 30000, Steps: append(login(gate, "alice", room),
				step{Op: "waitPush", Route: "onAdd", TimeoutMs: 15000},
				step{Op: "waitPush", Route: "onChat", TimeoutMs: 15000},
				step{Op: "waitPush", Route: "onChat", TimeoutMs: 15000},
				step{Op: "waitPush", Route: "onLeave", TimeoutMs: 15000},
				step{Op: "waitSignal", Name: "done"}, // still in the room for the second alice
			)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := alice.Await(ctx, nodeclient.Match(nodeclient.KindResponse, "connector.entryHandler.enter")); err != nil {
				t.Fatalf("alice did not enter: %v\n%s", err, alice.Events())
			}
			bobEvents, err := env.Run(ctx, script, nodeclient.Scenario{TimeoutMs: 30000, Steps: append(login(gate, "bob", room),
				step{Op: "request", Route: "chat.chatHandler.send", Msg: map[string]string{"rid": room, "content": "hello all", "from": "bob", "target": "*"}},
				step{Op: "waitPush", Route: "onChat"},
				step{Op: "request", Route: "chat.chatHandler.send", Msg: map[string]string{"rid": room, "content": "psst", "from": "bob", "target": "alice"}},
			)})
			if err != nil {
				t.Fatalf("bob: %v\n%s", err, bobEvents)
			}
			// Another alice in the same room, from another page, is refused.
			dupEvents, err := env.Run(ctx, script, nodeclient.Scenario{Steps: login(gate, "alice", room)})
			if err != nil {
				t.Fatalf("a second alice: %v\n%s", err, dupEvents)
			}
			if err := alice.Signal("done"); err != nil {
				t.Fatal(err)
			}
			aliceEvents, err := alice.Wait()
			if err != nil {
				t.Fatalf("alice: %v\n%s", err, aliceEvents)
			}
			want := func(evs nodeclient.Events, who, kind, route, body string) {
				t.Helper()
				for _, e := range evs {
					if e.Kind == kind && e.Route == route && string(e.Body) == body {
						return
					}
				}
				t.Errorf("%s: no %s %s %s in:\n%s", who, kind, route, body, evs)
			}
			want(aliceEvents, "alice", nodeclient.KindResponse, "connector.entryHandler.enter", `{"users":["alice"]}`)
			want(aliceEvents, "alice", nodeclient.KindPush, "onAdd", `{"user":"bob"}`)
			want(aliceEvents, "alice", nodeclient.KindPush, "onChat", `{"msg":"hello all","from":"bob","target":"*"}`)
			want(aliceEvents, "alice", nodeclient.KindPush, "onChat", `{"msg":"psst","from":"bob","target":"alice"}`)
			want(aliceEvents, "alice", nodeclient.KindPush, "onLeave", `{"user":"bob"}`)
			want(bobEvents, "bob", nodeclient.KindResponse, "connector.entryHandler.enter", `{"users":["alice","bob"]}`)
			want(bobEvents, "bob", nodeclient.KindPush, "onChat", `{"msg":"hello all","from":"bob","target":"*"}`)
			want(dupEvents, "the second alice", nodeclient.KindResponse, "connector.entryHandler.enter", `{"code":500,"error":true}`)
			for _, evs := range []nodeclient.Events{aliceEvents, bobEvents} {
				for _, kind := range []string{nodeclient.KindError, nodeclient.KindWarning} {
					if bad := evs.Of(kind); len(bad) > 0 {
						t.Errorf("%s: %s", kind, bad)
					}
				}
			}
		})
	}
}
