package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/internal/nodeclient"
)

// TestStopsPlayersNeverNotice stops a connector of the chat demo on every
// path an operator (or a process manager) takes, while NetEase's browser
// client has a request in flight through a chat server on each of its
// connections: every request is answered (not refused, not lost), every
// client is kicked with the reason, and every WebSocket ends with a close
// frame saying the server goes away (1001), never an abnormal close (1006);
// and each one's leaving reaches its room on a chat server that stays.
func TestStopsPlayersNeverNotice(t *testing.T) {
	const clients = 5
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env, err := nodeclient.Setup(ctx)
	if err != nil {
		t.Fatalf("this test needs Node and npm's Pomelo clients: %v", err)
	}
	for _, path := range []struct {
		name string
		stop func(c *testCluster, pid int)
	}{
		{"SIGTERM", func(_ *testCluster, pid int) { _ = syscall.Kill(pid, syscall.SIGTERM) }},
		{"SIGINT", func(_ *testCluster, pid int) { _ = syscall.Kill(pid, syscall.SIGINT) }},
		{"stop", func(c *testCluster, _ int) { c.must("stop", "connector-server-1") }},
		{"restart", func(c *testCluster, _ int) { c.must("restart", "connector-server-1") }},
		{"down", func(c *testCluster, _ int) { c.must("down") }},
	} {
		t.Run(path.name, func(t *testing.T) {
			c := newTestCluster(t, chatTopology(t))
			c.must("up", c.file, "-d", "--timeout", "30s")
			defer c.run("down")
			pid := c.ls()["connector-server-1"].Pid
			// A player on another connector, in the same room: every player
			// of the stopped connector leaves the room (its session's close
			// reaches the chat server, which pushes onLeave).
			var mu sync.Mutex
			left := map[string]bool{}
			watcher, err := client.Dial(ctx, c.port(3051), client.Options{OnPush: func(route string, body []byte) {
				var m struct{ User string }
				if route == "onLeave" && json.Unmarshal(body, &m) == nil {
					mu.Lock()
					left[m.User] = true
					mu.Unlock()
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer watcher.Close()
			if _, err := watcher.Request(ctx, "connector.entryHandler.enter", []byte(`{"username":"watcher","rid":"room-`+path.name+`"}`)); err != nil {
				t.Fatal(err)
			}
			players := make([]*nodeclient.Client, clients)
			for i := range players {
				name := "p" + strconv.Itoa(i)
				p, err := env.Start(ctx, nodeclient.WSClient, nodeclient.Scenario{TimeoutMs: 60000, Steps: []step{
					{Op: "init", Port: 3050 + c.offset},
					{Op: "request", Route: "connector.entryHandler.enter", Msg: map[string]string{"username": name, "rid": "room-" + path.name}},
					// In flight through a chat server when the stop comes.
					{Op: "request", Route: "chat.chatHandler.echo", Msg: map[string]any{"delayMs": 3000, "who": name}, TimeoutMs: 20000},
					{Op: "waitKick", TimeoutMs: 20000},
					{Op: "waitDisconnect", TimeoutMs: 20000},
				}})
				if err != nil {
					t.Fatal(err)
				}
				players[i] = p
			}
			for i, p := range players {
				if _, err := p.Await(ctx, nodeclient.Match(nodeclient.KindResponse, "connector.entryHandler.enter")); err != nil {
					t.Fatalf("player %d did not enter: %v\n%s", i, err, p.Events())
				}
			}
			// The echo requests reach the chat server (they take 3 s there).
			time.Sleep(time.Second)
			t0 := time.Now()
			path.stop(c, pid)
			for i, p := range players {
				evs, err := p.Wait()
				if err != nil {
					t.Errorf("player %d: %v\n%s", i, err, evs)
					continue
				}
				checkStoppedPlayer(t, fmt.Sprintf("player %d", i), evs, "p"+strconv.Itoa(i))
			}
			if d := time.Since(t0); d > 15*time.Second {
				t.Errorf("the stop took %s", d)
			}
			if path.name == "down" {
				return // the watcher's connector stops too
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := len(left)
				mu.Unlock()
				if n == clients {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of the %d players of the stopped connector left the room: %v", n, clients, left)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// checkStoppedPlayer checks what a player saw of a graceful stop: its echo
// answered, then a kick saying the server stops, then a close frame 1001.
func checkStoppedPlayer(t *testing.T, who string, evs nodeclient.Events, name string) {
	t.Helper()
	resp, ok := evs.First(nodeclient.KindResponse, "chat.chatHandler.echo")
	var body struct {
		Code int `json:"code"`
		Msg  struct {
			Who string `json:"who"`
		} `json:"msg"`
	}
	if !ok || json.Unmarshal(resp.Body, &body) != nil || body.Code != 200 || body.Msg.Who != name {
		t.Errorf("%s: the request in flight was not answered: %s\n%s", who, resp.Body, evs)
	}
	kick, ok := evs.First(nodeclient.KindKick, "")
	if !ok || kick.Reason != "server stopping" {
		t.Errorf("%s: kick %+v; want one with the reason \"server stopping\"\n%s", who, kick, evs)
	}
	closed, ok := evs.First(nodeclient.KindClose, "")
	if !ok || closed.Code != 1001 {
		t.Errorf("%s: close %+v; want a close frame 1001 (going away), not an abnormal close\n%s", who, closed, evs)
	}
	if ok && kick.At > closed.At {
		t.Errorf("%s: the kick came after the close\n%s", who, evs)
	}
}
