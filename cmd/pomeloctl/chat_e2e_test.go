package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/internal/nodeclient"

	"github.com/redis/go-redis/v9"
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

// The chat demo with its global profile (rooms are global channels in a
// managed Redis), played by NetEase's browser client: alice and erin land
// on different connectors (the gate hashes their names to
// connector-server-3 and connector-server-1), each gets the other's
// messages through the room in Redis, and once both have left no member
// is left in Redis.
func TestChatDemoGlobalRooms(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := nodeclient.Setup(ctx)
	if err != nil {
		t.Fatalf("this test needs Node and npm's Pomelo clients: %v", err)
	}
	c := newTestCluster(t, chatTopology(t))
	t.Cleanup(func() { killMentioning(c.dir) })
	c.must("up", c.file, "-d", "-p", "global", "--timeout", "30s") // its profiles/ is the example's
	defer c.must("down")
	raw := redis.NewClient(&redis.Options{Addr: c.port(6479)})
	defer raw.Close()
	gate := 3014 + c.offset

	alice, err := env.Start(ctx, nodeclient.WSClient, nodeclient.Scenario{TimeoutMs: 30000, Steps: append(login(gate, "alice", "lobby"),
		step{Op: "waitPush", Route: "onAdd", TimeoutMs: 15000},
		step{Op: "waitPush", Route: "onChat", TimeoutMs: 15000},
		step{Op: "request", Route: "chat.chatHandler.send", Msg: map[string]string{"rid": "lobby", "content": "hi erin", "from": "alice", "target": "*"}},
		step{Op: "waitSignal", Name: "done"},
	)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Await(ctx, nodeclient.Match(nodeclient.KindResponse, "connector.entryHandler.enter")); err != nil {
		t.Fatalf("alice did not enter: %v\n%s", err, alice.Events())
	}
	if got := raw.SMembers(ctx, "chat:room:lobby:connector-server-3").Val(); len(got) != 1 || got[0] != "alice*lobby" {
		t.Errorf("alice in Redis: chat:room:lobby:connector-server-3 holds %v; want alice*lobby", got)
	}
	erin, err := env.Run(ctx, nodeclient.WSClient, nodeclient.Scenario{TimeoutMs: 30000, Steps: append(login(gate, "erin", "lobby"),
		step{Op: "request", Route: "chat.chatHandler.send", Msg: map[string]string{"rid": "lobby", "content": "hello from erin", "from": "erin", "target": "*"}},
		step{Op: "waitPush", Route: "onChat", TimeoutMs: 15000}, // her own
		step{Op: "waitPush", Route: "onChat", TimeoutMs: 15000}, // alice's
	)})
	if err != nil {
		t.Fatalf("erin: %v\n%s", err, erin)
	}
	if err := alice.Signal("done"); err != nil {
		t.Fatal(err)
	}
	aliceEvents, err := alice.Wait()
	if err != nil {
		t.Fatalf("alice: %v\n%s", err, aliceEvents)
	}
	has := func(evs nodeclient.Events, who, kind, route, body string) {
		t.Helper()
		for _, e := range evs {
			if e.Kind == kind && e.Route == route && string(e.Body) == body {
				return
			}
		}
		t.Errorf("%s: no %s %s %s in:\n%s", who, kind, route, body, evs)
	}
	has(erin, "erin", nodeclient.KindResponse, "connector.entryHandler.enter", `{"users":["alice","erin"]}`)
	has(erin, "erin", nodeclient.KindPush, "onChat", `{"msg":"hi erin","from":"alice","target":"*"}`)
	has(aliceEvents, "alice", nodeclient.KindPush, "onAdd", `{"user":"erin"}`)
	has(aliceEvents, "alice", nodeclient.KindPush, "onChat", `{"msg":"hello from erin","from":"erin","target":"*"}`)
	waitWithin(t, 10*time.Second, "no member left in Redis", func() bool {
		keys, _, err := raw.Scan(ctx, 0, "chat:room:*", 100).Result()
		return err == nil && len(keys) == 0
	})
}
