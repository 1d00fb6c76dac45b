package server

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Check says, at their places, what keeps a topology from running: what
// the runtime does not do yet, and what keeps a server's plan from being
// built (a type routed twice); once each, however many servers share it. The chat demo, with its game, passes.
func TestCheck(t *testing.T) {
	top, _ := chatTopology(t)
	if err := Check(top, nil); err != nil {
		t.Errorf("the chat demo: %v", err)
	}

	_, offset := chatTopology(t)
	routed := chatWithRouter(t, offset, "servers[0]")
	app := NewApp()
	app.Route("chat", func(env scripting.RouterEnv) (scripting.Server, error) { return env.Servers[0], nil })
	err := Check(routed, app)
	var list topology.ErrorList
	if !errors.As(err, &list) || len(list) != 1 || list[0].Path != "servers.chat.router" || list[0].Pos.Line == 0 || !strings.Contains(list[0].Msg, "the game's Go code routes chat too") {
		t.Errorf("two routers for chat: %v; want one error at the router's line", err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "topology.yaml")
	text := `
globalChannel: {redis: 127.0.0.1:6379}
servers:
  connector:
    frontend: true
    instances: [{id: c1, host: 127.0.0.1, port: 4050, clientPort: 3050}, {id: c2, host: 127.0.0.1, port: 4051, clientPort: 3051}]
  chat:
    handlers: {"chatHandler.send": 'reply(msg)'}
    instances: [{id: chat-1, host: 127.0.0.1, port: 6050}]
`
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	bad, _, err := topology.Load(file, topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(bad, nil); err != nil {
		t.Errorf("Check of a topology with globalChannel and a handler in YAML: %v; want none", err)
	}

	// A handler the topology writes and the game registers too.
	app = NewApp()
	app.Handle("chat.chatHandler.send", nil)
	err = Check(bad, app)
	if err == nil || !strings.Contains(err.Error(), "topology.yaml:8:16: servers.chat.handlers.chatHandler.send: chat.chatHandler.send is declared here and in the game's Go code too; keep one of the two") {
		t.Errorf("a route declared in YAML and in Go: %v", err)
	}
}
