package scripting

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzRouter feeds arbitrary router expressions, messages and session
// settings to the router environment: compiling never panics, and neither
// does picking; a pick gives one of the candidates or an *Error, never
// something else.
//
//	go test -run '^$' -fuzz FuzzRouter -fuzztime 10m ./scripting/
func FuzzRouter(f *testing.F) {
	for _, seed := range []struct{ src, msg, rid string }{
		{`servers[crc32(str(session.get("rid"))) % len(servers)]`, `{}`, "lobby"},
		{`servers[int(msg.n) % len(servers)]`, `{"n":2}`, ""},
		{`msg.server`, `{"server":"chat-server-2"}`, ""},
		{`session.get("rid") ?? "chat-server-1"`, `{}`, "chat-server-3"},
		{`first(filter(servers, .state == "running"))`, `{}`, ""},
		{`crc32(session.uid) % len(servers)`, `[1,2]`, "x"},
		{`servers[-1]`, `null`, ""},
		{`1 / 0`, `{}`, ""},
		{`msg.a.b.c`, `{"a":null}`, ""},
		{`servers[int(msg.n) % 0]`, `{"n":1e300}`, ""},
	} {
		f.Add(seed.src, seed.msg, seed.rid)
	}
	servers := []Server{{ID: "chat-server-1", State: "running"}, {ID: "chat-server-2", State: "restarting"}, {ID: "chat-server-3", State: "running"}}
	f.Fuzz(func(t *testing.T, src, msgJSON, rid string) {
		r, err := CompileRouter(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("CompileRouter(%q): %T %v; want an *Error", src, err, err)
			}
			return
		}
		var msg map[string]any
		_ = json.Unmarshal([]byte(msgJSON), &msg)
		env := RouterEnv{Session: NewSession(1, rid, "connector-server-1", map[string]any{"rid": rid}), Msg: msg, Route: "chat.chatHandler.send", Servers: servers}
		got, err := r.Pick(env)
		if err != nil {
			return
		}
		if indexOf(servers, got.ID) < 0 {
			t.Fatalf("Pick(%q) gave %+v, not a candidate", src, got)
		}
	})
}
