package game

import (
	"testing"

	"github.com/pomeloctl/pomeloctl/scripting"
)

// RoomRouter, the expression, routes every room where RouteByRoom does, and
// a session with no room too.
func TestRoomRouterIsTheGoRouter(t *testing.T) {
	expr, err := scripting.CompileRouter(RoomRouter)
	if err != nil {
		t.Fatal(err)
	}
	if expr.ReadsMsg() {
		t.Error("the room router reads msg: every request's message would be decoded for it")
	}
	servers := []scripting.Server{{ID: "chat-server-1"}, {ID: "chat-server-2"}, {ID: "chat-server-3"}}
	for _, settings := range []map[string]any{{"rid": "lobby"}, {"rid": "room-7"}, {"rid": "天空"}, {}} {
		env := scripting.RouterEnv{Session: scripting.NewSession(1, "u", "connector-server-1", settings), Servers: servers}
		want, _ := RouteByRoom(env)
		got, err := expr.Pick(env)
		if err != nil || got.ID != want.ID {
			t.Errorf("settings %v: the expression picked %s, %v; the Go router %s", settings, got.ID, err, want.ID)
		}
	}
}
