package scripting

import (
	"testing"
)

// roomEnv is a request of chatofpomelo's routed by its room: three chat
// servers, the session's rid setting.
func roomEnv() RouterEnv {
	return RouterEnv{
		Session: NewSession(7, "alice*lobby", "connector-server-1", map[string]any{"rid": "lobby"}),
		Route:   "chat.chatHandler.send",
		Servers: []Server{{ID: "chat-server-1", State: "running"}, {ID: "chat-server-2", State: "running"}, {ID: "chat-server-3", State: "running"}},
	}
}

const roomRouter = `servers[crc32(str(session.get("rid"))) % len(servers)]`

// goRoomRouter is roomRouter written in Go, as the chat demo's game does.
func goRoomRouter(env RouterEnv) (Server, error) {
	rid, _ := env.Session.Get("rid").(string)
	return env.Servers[Crc32(rid)%len(env.Servers)], nil
}

// BenchmarkRouter is a router expression's cost per request next to the Go
// function that does the same:
//
//	go test -run '^$' -bench Router -benchmem ./scripting/
func BenchmarkRouter(b *testing.B) {
	r, err := CompileRouter(roomRouter)
	if err != nil {
		b.Fatal(err)
	}
	env := roomEnv()
	b.Run("expr", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Pick(env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			if _, err := goRoomRouter(env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A router is compiled once: picking allocates a few values for the run,
// nowhere near what compiling the expression again would.
func TestPickDoesNotCompile(t *testing.T) {
	r, err := CompileRouter(roomRouter)
	if err != nil {
		t.Fatal(err)
	}
	compile := testing.AllocsPerRun(20, func() {
		if _, err := CompileRouter(roomRouter); err != nil {
			t.Fatal(err)
		}
	})
	env := roomEnv()
	want, _ := goRoomRouter(env)
	pick := testing.AllocsPerRun(100, func() {
		if got, err := r.Pick(env); err != nil || got.ID != want.ID {
			t.Fatalf("Pick = %v, %v; want %s", got.ID, err, want.ID)
		}
	})
	if pick > 16 || pick*10 > compile {
		t.Errorf("a pick allocates %.0f times, a compile %.0f: a pick must not compile", pick, compile)
	}
}
