// Package game is Pomelo's chat demo (chatofpomelo) written with the Go
// API: the handlers, remotes and router its web client expects, for every
// server type (docs: the DESIGN's examples/chat contract). main.go runs it.
package game

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/scripting"
)

// App is the chat game.
func App() *server.App {
	app := Handlers()
	app.Route("chat", RouteByRoom)
	return app
}

// RouteByRoom is the chat router: a room lives on one chat server, the one
// crc32 of the room id picks.
func RouteByRoom(env scripting.RouterEnv) (scripting.Server, error) {
	if len(env.Servers) == 0 {
		return scripting.Server{}, scripting.ErrNoServers
	}
	rid, _ := env.Session.Settings["rid"].(string)
	return env.Servers[scripting.Crc32(rid)%len(env.Servers)], nil
}

// RoomRouter is RouteByRoom as an expression, for a topology that routes
// chat itself (with Handlers).
const RoomRouter = `servers[crc32(str(session.get("rid") ?? "")) % len(servers)]`

// Handlers is the chat game without its router.
func Handlers() *server.App {
	app := server.NewApp()
	app.HandleFrontend("connector.entryHandler.enter", enter)
	app.Handle("chat.chatHandler.send", send)
	app.Handle("chat.chatHandler.echo", echo)
	app.Remote("chat.chatRemote.add", add)
	app.Remote("chat.chatRemote.kick", kick)
	app.OnSessionClose(leave)
	return app
}

// member is the argument of the chat remotes: a user, its frontend, its room.
type member struct {
	UID      string `json:"uid"`
	Frontend string `json:"sid"`
	Room     string `json:"name"`
}

func username(uid string) string { name, _, _ := strings.Cut(uid, "*"); return name }

// enter logs a user into a room: connector.entryHandler.enter {username, rid}.
func enter(ctx context.Context, s *server.FrontendSession, msg json.RawMessage) (any, error) {
	var m struct{ Username, Rid string }
	if err := json.Unmarshal(msg, &m); err != nil || m.Username == "" || m.Rid == "" {
		return map[string]any{"code": 500, "error": true}, nil
	}
	uid := m.Username + "*" + m.Rid
	if s.Bound(uid) {
		return map[string]any{"code": 500, "error": true}, nil // that name is taken in that room
	}
	if err := s.Bind(uid); err != nil {
		return nil, err
	}
	s.Set("rid", m.Rid)
	var users []string
	if err := s.Services().Call(ctx, "chat.chatRemote.add", s.Info(), member{UID: uid, Frontend: s.FrontendID(), Room: m.Rid}, &users); err != nil {
		return nil, err
	}
	return map[string]any{"users": users}, nil
}

// add puts a user in a room, after telling those already there.
func add(ctx context.Context, sv *server.Services, args json.RawMessage) (any, error) {
	var m member
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, err
	}
	ch := sv.Channels().Get(m.Room, true)
	if err := ch.Push(ctx, "onAdd", map[string]string{"user": username(m.UID)}); err != nil {
		return nil, err
	}
	ch.Add(m.UID, m.Frontend)
	return usernames(ch), nil
}

// kick takes a user out of a room and tells those who remain.
func kick(ctx context.Context, sv *server.Services, args json.RawMessage) (any, error) {
	var m member
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, err
	}
	ch := sv.Channels().Get(m.Room, false)
	if ch == nil {
		return nil, nil
	}
	ch.Leave(m.UID)
	return nil, ch.Push(ctx, "onLeave", map[string]string{"user": username(m.UID)})
}

func usernames(ch *server.Channel) []string {
	uids := ch.Members()
	out := make([]string, len(uids))
	for i, uid := range uids {
		out[i] = username(uid)
	}
	return out
}

// send is chat.chatHandler.send {rid, content, from, target}: to everyone
// in the room with target "*", else to one member.
func send(ctx context.Context, s *server.BackendSession, msg json.RawMessage) (any, error) {
	var m struct {
		Content string `json:"content"`
		Target  string `json:"target"`
		Route   string `json:"route"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, err
	}
	rid, _ := s.Get("rid").(string)
	ch := s.Services().Channels().Get(rid, false)
	if ch == nil {
		return nil, fmt.Errorf("no room %q on this server", rid)
	}
	out := map[string]string{"msg": m.Content, "from": username(s.UID()), "target": m.Target}
	if m.Target == "*" {
		return map[string]string{"route": m.Route}, ch.Push(ctx, "onChat", out)
	}
	to := m.Target + "*" + rid
	fe, ok := ch.Member(to)
	if !ok {
		return nil, fmt.Errorf("%s is not in room %s", m.Target, rid)
	}
	return map[string]string{"route": m.Route}, s.Services().PushToUIDs(ctx, "onChat", out, []server.Target{{UID: to, Frontend: fe}})
}

// echo answers with what it got and where it ran, for benchmarks; after
// delayMs milliseconds (at most 10 s) when the message says so, for tests
// of what a stop does to requests in flight.
func echo(ctx context.Context, s *server.BackendSession, msg json.RawMessage) (any, error) {
	var m struct {
		DelayMs int `json:"delayMs"`
	}
	// Benchmarks echo at full speed: decode only a message that asks.
	if bytes.Contains(msg, []byte(`"delayMs"`)) && json.Unmarshal(msg, &m) == nil && m.DelayMs > 0 {
		select {
		case <-time.After(min(time.Duration(m.DelayMs)*time.Millisecond, 10*time.Second)):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return map[string]any{"code": 200, "msg": msg, "server": s.Services().ID()}, nil
}

// leave runs on the connector when a session closes: its room's chat
// server takes the user out.
func leave(sv *server.Services, s scripting.Session) {
	rid, _ := s.Settings["rid"].(string)
	if s.UID == "" || rid == "" {
		return
	}
	_ = sv.Call(context.Background(), "chat.chatRemote.kick", s, member{UID: s.UID, Frontend: s.FrontendID, Room: rid}, nil)
}
