package game

import (
	"slices"
	"testing"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/topology"
)

// The route dictionary numbers every handler route of every server type,
// as Pomelo's does: the gate's, and the chat game's registered with the Go
// API (frontend and backend), sorted and numbered from 1; remotes are not
// client routes.
func TestDictionaryHasEveryHandlerRoute(t *testing.T) {
	top, _, err := topology.Load("../topology.yaml", topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	routes := server.HandlerRoutes(top, App())
	want := []string{"chat.chatHandler.echo", "chat.chatHandler.send", "connector.entryHandler.enter", "gate.gateHandler.queryEntry"}
	if !slices.Equal(routes, want) {
		t.Fatalf("handler routes %q; want %q", routes, want)
	}
	dict, err := protocol.NewDictionary(routes, top.Dictionary)
	if err != nil {
		t.Fatal(err)
	}
	for i, route := range want {
		if code, ok := dict.Code(route); !ok || int(code) != i+1 {
			t.Errorf("%s is numbered %d, %v; want %d", route, code, ok, i+1)
		}
	}
}
