package server

import (
	"context"
	"testing"

	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// No expression is compiled per request: compiling even a one-line
// expression costs about two hundred allocations (parsing, type checks,
// code), while running a handler or a router the plan compiled costs a
// few, the env and the answer. A request that compiled would cost at
// least a compile.
func TestNoExpressionIsCompiledPerRequest(t *testing.T) {
	top, _, err := topology.Load("../../examples/chat-expr/topology.yaml", topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(top, "chat-server-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	const route = "chat.chatHandler.echo"
	sc := plan.scripts.handlers[route]
	sv := &Services{id: "chat-server-1", self: declared(plan.Server, StateRunning), log: quiet(), scripts: plan.scripts}
	bs := &BackendSession{id: 1, frontendID: "connector-server-1", uid: "alice*lobby", settings: map[string]any{"rid": "lobby"}, sv: sv}
	body := []byte(`{"hello":"world"}`)
	handle := func() {
		if _, err := sv.handle(sc, sv.backendRun(context.Background(), bs), route, body); err != nil {
			t.Fatal(err)
		}
	}
	compile := func() {
		if _, err := scripting.CompileHandler(sc.prog.Source()); err != nil {
			t.Fatal(err)
		}
	}
	router := plan.routers["chat"]
	servers := []scripting.Server{{ID: "chat-server-1"}, {ID: "chat-server-2"}, {ID: "chat-server-3"}}
	pick := func() {
		if _, err := router.pick(scripting.RouterEnv{Session: scripting.NewSession(1, "alice*lobby", "connector-server-1", bs.settings), Route: route, Servers: servers}); err != nil {
			t.Fatal(err)
		}
	}
	compileRouter := func() {
		if _, err := scripting.CompileRouter(top.Types.Get("chat").Router.Source); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name         string
		run, compile func()
	}{{"handler", handle, compile}, {"router", pick, compileRouter}} {
		runs, compiles := testing.AllocsPerRun(100, tc.run), testing.AllocsPerRun(5, tc.compile)
		t.Logf("%s: %.0f allocations a run, %.0f a compile", tc.name, runs, compiles)
		if runs*4 > compiles {
			t.Errorf("%s: a run makes %.0f allocations, a compile %.0f: a run should make a small part of a compile's", tc.name, runs, compiles)
		}
	}
}
