package server

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/globalchannel"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/internal/redistest"
	"github.com/pomeloctl/pomeloctl/internal/testlog"
	"github.com/pomeloctl/pomeloctl/topology"
)

const gcTopology = `
globalChannel: {redis: REDIS, prefix: "test:gc"}
servers:
  connector:
    frontend: true
    handlers:
      entryHandler.login: 'session.bind(msg.uid); {uid: session.uid}'
    instances:
      - {id: connector-1, port: C1, clientPort: K1}
      - {id: connector-2, port: C2, clientPort: K2}
  game:
    handlers:
      gameHandler.shout: 'globalChannel.push("room", "onShout", msg)'
      gameHandler.who: 'globalChannel.members("room")'
      gameHandler.enter: 'globalChannel.add("hall", session.uid, session.frontendId); globalChannel.members("hall")'
    instances: [{id: game-1, port: GAME}]
`

// gcApp is a game that keeps its room in a global channel.
func gcApp() *App {
	app := NewApp()
	app.Handle("game.gameHandler.join", func(ctx context.Context, s *BackendSession, _ json.RawMessage) (any, error) {
		gc := s.Services().GlobalChannels()
		if err := gc.Add(ctx, "room", s.UID(), s.FrontendID()); err != nil {
			return nil, err
		}
		return gc.Members(ctx, "room")
	})
	app.Handle("game.gameHandler.say", func(ctx context.Context, s *BackendSession, msg json.RawMessage) (any, error) {
		return map[string]bool{"ok": true}, s.Services().GlobalChannels().Push(ctx, "room", "onChat", json.RawMessage(msg))
	})
	app.Handle("game.gameHandler.bad", func(ctx context.Context, s *BackendSession, msg json.RawMessage) (any, error) {
		var a struct{ Name, Frontend string }
		_ = json.Unmarshal(msg, &a)
		err := s.Services().GlobalChannels().Add(ctx, a.Name, s.UID(), a.Frontend)
		return map[string]any{"refused": errors.Is(err, globalchannel.ErrBadInput), "why": errString(err)}, nil
	})
	return app
}

// player is a client logged in on a connector, recording its pushes.
type player struct {
	cl     *client.Client
	mu     sync.Mutex
	pushes []string
}

func (p *player) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.pushes)
}

// Members of a global channel on two connectors, added by a backend: a
// push reaches every one of them, wherever connected; the keys are
// Pomelo's; bad input is refused; a player that leaves is taken out; after
// Redis restarts empty, the frontends put their members back.
func TestGlobalChannels(t *testing.T) {
	rs := redistest.Start(t)
	offset, err := freeport.Offset(3050, 3051, 4050, 4051, 6050)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("REDIS", rs.Addr, "C1", strconv.Itoa(4050+offset), "C2", strconv.Itoa(4051+offset),
		"K1", strconv.Itoa(3050+offset), "K2", strconv.Itoa(3051+offset), "GAME", strconv.Itoa(6050+offset)).Replace(gcTopology)
	file := filepath.Join(t.TempDir(), "topology.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	top, _, err := topology.Load(file, topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := hubFor(t)
	logs := &testlog.Buffer{}
	app := gcApp()
	for _, id := range []string{"game-1", "connector-1", "connector-2"} {
		ctx, cancel := context.WithCancel(context.Background())
		done, ready := make(chan error, 1), make(chan struct{})
		cfg := Config{Topology: top, ID: id, Master: addr, Token: "s3cret", App: app, Logger: logs.Logger(), Ready: func() { close(ready) }}
		go func() { done <- Run(ctx, cfg) }()
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("%s: %v", id, err)
		}
		t.Cleanup(func() { cancel(); <-done })
	}
	raw := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer raw.Close()
	members := func(fe string) []string {
		m := raw.SMembers(context.Background(), "test:gc:room:"+fe).Val()
		slices.Sort(m)
		return m
	}

	players := map[string]*player{}
	for _, p := range []struct{ uid, port string }{{"u1", "3050"}, {"u2", "3051"}, {"u3", "3051"}} {
		pl := &player{}
		port, _ := strconv.Atoi(p.port)
		cl, err := client.Dial(context.Background(), "127.0.0.1:"+strconv.Itoa(port+offset), client.Options{OnPush: func(route string, body []byte) {
			pl.mu.Lock()
			pl.pushes = append(pl.pushes, route+" "+string(body))
			pl.mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		pl.cl = cl
		players[p.uid] = pl
		request(t, cl, "connector.entryHandler.login", `{"uid":"`+p.uid+`"}`)
		request(t, cl, "game.gameHandler.join", `{}`)
	}
	if got1, got2 := members("connector-1"), members("connector-2"); !slices.Equal(got1, []string{"u1"}) || !slices.Equal(got2, []string{"u2", "u3"}) {
		t.Fatalf("Pomelo's keys: test:gc:room:connector-1 %v, test:gc:room:connector-2 %v; want [u1] and [u2 u3]", got1, got2)
	}

	request(t, players["u1"].cl, "game.gameHandler.say", `{"text":"hello"}`)
	for uid, pl := range players {
		waitFor(t, uid+" to get the push", func() bool { return slices.Contains(pl.got(), `onChat {"text":"hello"}`) })
	}

	// The same from expressions: globalChannel.push, .members, .add.
	request(t, players["u2"].cl, "game.gameHandler.shout", `{"text":"hey"}`)
	for uid, pl := range players {
		waitFor(t, uid+" to get the shout", func() bool { return slices.Contains(pl.got(), `onShout {"text":"hey"}`) })
	}
	if got := request(t, players["u1"].cl, "game.gameHandler.who", `{}`); got != `{"connector-1":["u1"],"connector-2":["u2","u3"]}` && got != `{"connector-1":["u1"],"connector-2":["u3","u2"]}` {
		t.Errorf("globalChannel.members: %s", got)
	}
	if got := request(t, players["u3"].cl, "game.gameHandler.enter", `{}`); got != `{"connector-2":["u3"]}` {
		t.Errorf("globalChannel.add, then members: %s", got)
	}

	for _, c := range []struct{ args, want string }{
		{`{"Name":"","Frontend":"connector-1"}`, "the channel has no name"},
		{`{"Name":"room","Frontend":"connector-9"}`, "no frontend connector-9 in the cluster"},
		{`{"Name":"room","Frontend":"game-1"}`, "game-1 is a game server, not a frontend"},
	} {
		if got := request(t, players["u1"].cl, "game.gameHandler.bad", c.args); !strings.Contains(got, `"refused":true`) || !strings.Contains(got, c.want) {
			t.Errorf("add with %s: %s; want it refused with %q", c.args, got, c.want)
		}
	}

	// A player that leaves is taken out of its channels, by its frontend:
	// one added from Go, one from an expression.
	players["u3"].cl.Close()
	waitFor(t, "u3 to leave the channels", func() bool {
		return slices.Equal(members("connector-2"), []string{"u2"}) && raw.Exists(context.Background(), "test:gc:hall:connector-2").Val() == 0
	})

	// Redis restarts empty: each frontend puts its members back.
	rs.Restart()
	waitFor(t, "the members to be back after Redis restarted", func() bool {
		return slices.Equal(members("connector-1"), []string{"u1"}) && slices.Equal(members("connector-2"), []string{"u2"})
	})
	if !strings.Contains(logs.String(), "global channels: Redis answers again; this frontend's members are back") {
		t.Errorf("the frontends did not log that they put the members back:\n%s", logs.String())
	}
	request(t, players["u2"].cl, "game.gameHandler.say", `{"text":"again"}`)
	for _, uid := range []string{"u1", "u2"} {
		waitFor(t, uid+" to get the push after the restart", func() bool { return slices.Contains(players[uid].got(), `onChat {"text":"again"}`) })
	}
}

// waitFor waits (at most 5s) until ok holds.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
	}
}
