package scripting

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func chatServers(n int) []Server {
	servers := make([]Server, n)
	for i := range servers {
		servers[i] = Server{ID: "chat-" + string(rune('1'+i)), Type: "chat", Host: "127.0.0.1", Port: 3050 + i}
	}
	return servers
}

func mustCompile(t testing.TB, src string) *Router {
	t.Helper()
	r, err := CompileRouter(src)
	if err != nil {
		t.Fatalf("CompileRouter(%q): %v", src, err)
	}
	return r
}

func TestPick(t *testing.T) {
	env := RouterEnv{
		Session: NewSession(7, "alice", "connector-1", map[string]any{"rid": "room-2", "slot": 2, "big": uint64(1) << 63, "n": int8(1)}),
		Msg:     map[string]any{"serverId": "chat-3", "index": 1, "float": 1.5},
		Route:   "chat.chatHandler.send",
		Servers: chatServers(3),
	}
	for _, tc := range []struct {
		src, want string
	}{
		{`servers[1]`, "chat-2"},
		{`first(filter(servers, .id == "chat-3"))`, "chat-3"},
		{`"chat-2"`, "chat-2"},
		{`msg.serverId`, "chat-3"},
		{`2`, "chat-3"},
		{`msg.index`, "chat-2"},
		{`session.get("slot")`, "chat-3"},
		{`session.get("n")`, "chat-2"},                         // int8
		{`session.id % len(servers)`, "chat-2"},                // int64
		{`servers[crc32("alice") % len(servers)]`, "chat-3"},   // 663665735 % 3 == 2
		{`crc32(session.uid) % len(servers)`, "chat-3"},        // the same, as an index
		{`session.settings.rid == "room-2" ? 0 : 1`, "chat-1"}, // settings by name
		{`route == "chat.chatHandler.send" ? "chat-3" : 0`, "chat-3"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			got, err := mustCompile(t, tc.src).Pick(env)
			if err != nil || got.ID != tc.want {
				t.Errorf("Pick(%q) = %q, %v; want %q", tc.src, got.ID, err, tc.want)
			}
		})
	}
}

func TestPickWithoutGet(t *testing.T) {
	// A Session built without NewSession still answers session.get.
	env := RouterEnv{Session: Session{Settings: map[string]any{"rid": "chat-2"}}, Servers: chatServers(3)}
	got, err := mustCompile(t, `session.get("rid")`).Pick(env)
	if err != nil || got.ID != "chat-2" {
		t.Errorf("Pick(session.get(\"rid\")) = %q, %v; want chat-2", got.ID, err)
	}
}

func TestPickErrors(t *testing.T) {
	env := RouterEnv{
		Session: NewSession(7, "", "connector-1", map[string]any{"big": uint64(1) << 63}),
		Msg:     map[string]any{"float": 1.5, "uid": 42},
		Servers: chatServers(3),
	}
	alone := env
	alone.Servers = chatServers(1)
	none := env
	none.Servers = nil
	stranger := env
	stranger.Msg = map[string]any{"other": Server{ID: "chat-9", Type: "chat"}}

	for _, tc := range []struct {
		name, src string
		env       RouterEnv
		want      string
	}{
		{"unknown id", `"chat-9"`, env, `router gave server id "chat-9", which is not among the 3 chat servers`},
		{"unknown id, one server", `"chat-9"`, alone, `router gave server id "chat-9", which is not among the 1 chat server (chat-1)`},
		{"server not a candidate", `msg.other`, stranger, `router gave server "chat-9", which is not among the 3 chat servers`},
		{"index too big", `3`, env, `router gave index 3, outside 0..2 for the 3 chat servers`},
		{"negative index", `-1`, env, `router gave index -1, outside 0..2 for the 3 chat servers`},
		{"huge unsigned index", `session.get("big")`, env, `router gave index 9223372036854775807 or more, outside 0..2 for the 3 chat servers`},
		{"nil", `msg.missing`, env, `router gave nil; a router must give a server, a server id or an index into servers`},
		{"float at run time", `msg.float`, env, `router gave float64 1.5; a router must give a server, a server id or an index into servers`},
		{"no servers", `0`, none, `there are no servers to route to`},
		{"crc32 of a number", `crc32(msg.uid) % len(servers)`, env, `1:1: crc32 needs a string, not int 42; write crc32(str(x))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustCompile(t, tc.src).Pick(tc.env)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Pick(%q) = %q, %v; want error %q", tc.src, got.ID, err, tc.want)
			}
		})
	}
}

func TestPickErrorsAreTyped(t *testing.T) {
	_, err := mustCompile(t, `0`).Pick(RouterEnv{})
	if !errors.Is(err, ErrNoServers) {
		t.Errorf("Pick with no servers = %v, want ErrNoServers", err)
	}
	env := RouterEnv{Msg: map[string]any{"uid": 42}, Servers: chatServers(3)}
	_, err = mustCompile(t, "0 +\n  crc32(msg.uid) % len(servers)").Pick(env)
	var se *Error
	if !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("Pick with a failing call on line 2 = %v, want an *Error on line 2", err)
	}
}

func BenchmarkPick(b *testing.B) {
	r := mustCompile(b, `servers[crc32(session.uid) % len(servers)]`)
	env := RouterEnv{
		Session: NewSession(7, "alice", "connector-1", map[string]any{"rid": "room-2"}),
		Msg:     map[string]any{"content": "hello"},
		Route:   "chat.chatHandler.send",
		Servers: chatServers(3),
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Pick(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefaultPick(b *testing.B) {
	env := RouterEnv{Session: NewSession(7, "alice", "connector-1", nil), Servers: chatServers(3)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DefaultPick(env); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPickConcurrent is for the race detector: a Router is shared by every
// request of its server type.
func TestPickConcurrent(t *testing.T) {
	r := mustCompile(t, `servers[crc32(session.uid) % len(servers)]`)
	servers := chatServers(3)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				uid := fmt.Sprintf("user-%d-%d", g, i)
				env := RouterEnv{Session: NewSession(int64(i), uid, "connector-1", nil), Servers: servers}
				got, err := r.Pick(env)
				want, _ := DefaultPick(env)
				if err != nil || got.ID != want.ID {
					t.Errorf("Pick(uid %q) = %q, %v; want %q, as DefaultPick", uid, got.ID, err, want.ID)
				}
			}
		})
	}
	wg.Wait()
}
