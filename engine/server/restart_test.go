package server

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/topology"
)

// A restart does not split a room: while the server a session routes to
// is down, its requests wait for it rather than going to another server of
// the type, are answered by it once it is back, and past its restart.wait
// fail with CodeRestarting and words that say so.
func TestRequestsWaitForTheirRestartingServer(t *testing.T) {
	top, offset := chatTopology(t)
	const wait = 3 * time.Second
	for _, s := range top.Types.Get("chat").Servers {
		s.Restart.Wait = topology.Duration(wait)
	}
	hub, addr := hubFor(t)
	run := func(id string) func() {
		app := NewApp()
		app.Handle("chat.chatHandler.echo", func(context.Context, *BackendSession, json.RawMessage) (any, error) {
			return map[string]any{"code": 200, "server": id}, nil
		})
		return runServer(t, Config{Topology: top, ID: id, Master: addr, Token: "s3cret", App: app})
	}
	stop := map[string]func(){}
	for _, id := range []string{"chat-server-1", "chat-server-2", "chat-server-3"} {
		stop[id] = run(id)
	}
	run("connector-server-1")
	c, err := client.Dial(context.Background(), "127.0.0.1:"+strconv.Itoa(3050+offset), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func() map[string]any {
		t.Helper()
		return requestJSON(t, c, "chat.chatHandler.echo", `{}`, 20*time.Second)
	}
	// The default router routes over the declared servers: a session's
	// server is known before either has registered with the connector.
	first := ""
	for deadline := time.Now().Add(10 * time.Second); first == ""; {
		if m := echo(); m["code"] == float64(200) {
			first = m["server"].(string)
		} else if time.Now().After(deadline) {
			t.Fatalf("no answer through a chat server: %v", m)
		}
	}
	stop[first]() // gracefully: it drains, then leaves

	answered := make(chan map[string]any, 1)
	go func() { answered <- echo() }()
	select {
	case m := <-answered:
		t.Fatalf("answered while its server was down: %v", m)
	case <-time.After(300 * time.Millisecond):
	}
	stop[first] = run(first)
	select {
	case m := <-answered:
		if m["code"] != float64(200) || m["server"] != first {
			t.Errorf("the request that waited: %v; want it answered by %s", m, first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request that waited was not answered once its server was back")
	}
	if m := echo(); m["server"] != first {
		t.Errorf("after the restart: %v; want %s still", m, first)
	}

	// Past its restart.wait, the request fails and says why.
	stop[first]()
	t0 := time.Now()
	m := echo()
	if msg, _ := m["msg"].(string); m["code"] != float64(CodeRestarting) || !strings.Contains(msg, first+" is restarting") || !strings.Contains(msg, "not back within "+wait.String()) {
		t.Errorf("a request whose server did not come back: %v", m)
	}
	if d := time.Since(t0); d < wait {
		t.Errorf("it failed after %s, before the %s wait", d, wait)
	}

	// Once the master says the server is stopped (an operator's stop, or a
	// policy that gave up), a request for it fails at once, and so does one
	// already waiting for it.
	waiting := make(chan map[string]any, 1)
	go func() { waiting <- echo() }()
	time.Sleep(100 * time.Millisecond)
	t0 = time.Now()
	hub.SetState(first, "stopped")
	for _, m := range []map[string]any{<-waiting, echo()} {
		if msg, _ := m["msg"].(string); m["code"] != float64(CodeRestarting) || !strings.Contains(msg, first+" is stopped") {
			t.Errorf("a request for a stopped server: %v", m)
		}
	}
	if d := time.Since(t0); d > wait/2 {
		t.Errorf("requests for a stopped server failed after %s: they waited", d)
	}
	// Started again, it takes its rooms' requests again.
	hub.SetState(first, "starting")
	stop[first] = run(first)
	hub.SetState(first, "running")
	for deadline := time.Now().Add(5 * time.Second); ; {
		m := echo()
		if m["server"] == first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a stop and a start: %v; want %s", m, first)
		}
	}
}

// requestJSON sends a request and decodes its answer, within d.
func requestJSON(t *testing.T, c *client.Client, route, body string, d time.Duration) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	resp, err := c.Request(ctx, route, []byte(body))
	if err != nil {
		t.Fatalf("%s: %v", route, err)
	}
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatalf("%s: %s: %v", route, resp, err)
	}
	return m
}
