package server

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// chatWithRouter is the chat example at offset with router written on
// its chat type.
func chatWithRouter(t *testing.T, offset int, router string) *topology.Topology {
	t.Helper()
	data, err := os.ReadFile("../../examples/chat/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "  chat:\n", "  chat:\n    router: '"+router+"'\n", 1)
	dir := t.TempDir()
	for _, f := range []string{"serverProtos.json"} {
		b, err := os.ReadFile(filepath.Join("../../examples/chat", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "web"), 0o755); err != nil { // the folder its web section serves
		t.Fatal(err)
	}
	file := filepath.Join(dir, "topology.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	top, _, err := topology.Load(file, topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// A type's router expression routes its requests: here by the message,
// each request to the server it names by index. A router that fails (no
// index in the message) answers the client 500 with the route named, and
// the connector goes on.
func TestExpressionRouter(t *testing.T) {
	_, offset := chatTopology(t)
	top := chatWithRouter(t, offset, "servers[int(msg.n) % len(servers)]")
	_, addr := hubFor(t)
	for _, id := range []string{"chat-server-1", "chat-server-2", "chat-server-3"} {
		app := NewApp()
		app.Handle("chat.chatHandler.echo", func(context.Context, *BackendSession, json.RawMessage) (any, error) {
			return map[string]any{"code": 200, "server": id}, nil
		})
		runServer(t, Config{Topology: top, ID: id, Master: addr, Token: "s3cret", App: app})
	}
	runServer(t, Config{Topology: top, ID: "connector-server-1", Master: addr, Token: "s3cret"})
	c, err := client.Dial(context.Background(), "127.0.0.1:"+strconv.Itoa(3050+offset), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func(body string) map[string]any {
		t.Helper()
		return requestJSON(t, c, "chat.chatHandler.echo", body, 10*time.Second)
	}
	for n, want := range []string{"chat-server-1", "chat-server-2", "chat-server-3", "chat-server-1"} {
		if m := echo(`{"n":` + strconv.Itoa(n) + `}`); m["server"] != want {
			t.Errorf("n=%d went to %v; want %s", n, m, want)
		}
	}
	m := echo(`{}`)
	if msg, _ := m["msg"].(string); m["code"] != float64(500) || !strings.Contains(msg, "chat.chatHandler.echo could not be routed: the router of chat") {
		t.Errorf("a router that fails: %v", m)
	}
	if m := echo(`{"n":2}`); m["server"] != "chat-server-3" {
		t.Errorf("after a failed route: %v", m)
	}
}

// A type routed both by the game's Go code and by an expression is
// refused before the server starts, at the expression's place.
func TestTwoRoutersForOneTypeAreRefused(t *testing.T) {
	_, offset := chatTopology(t)
	top := chatWithRouter(t, offset, "servers[0]")
	app := NewApp()
	app.Route("chat", func(env scripting.RouterEnv) (scripting.Server, error) { return env.Servers[0], nil })
	err := Run(context.Background(), Config{Topology: top, ID: "connector-server-1", Logger: quiet(), App: app})
	if err == nil || !strings.Contains(err.Error(), "servers.chat.router: the game's Go code routes chat too") || !strings.Contains(err.Error(), "topology.yaml:") {
		t.Errorf("two routers for chat: %v", err)
	}
}
