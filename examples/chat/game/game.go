// Package game is Pomelo's chat demo (chatofpomelo) written with the Go
// API: the handlers, remotes and router its web client expects, for every
// server type (docs: the DESIGN's examples/chat contract). main.go runs it.
package game

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	r := roomOf(sv, m.Room)
	if err := r.push(ctx, "onAdd", map[string]string{"user": username(m.UID)}); err != nil {
		return nil, err
	}
	if err := r.add(ctx, m.UID, m.Frontend); err != nil {
		return nil, err
	}
	uids, err := r.members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(uids))
	for uid := range uids {
		out = append(out, username(uid))
	}
	slices.Sort(out)
	return out, nil
}

// kick takes a user out of a room and tells those who remain.
func kick(ctx context.Context, sv *server.Services, args json.RawMessage) (any, error) {
	var m member
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, err
	}
	r := roomOf(sv, m.Room)
	if err := r.leave(ctx, m.UID, m.Frontend); err != nil {
		return nil, err
	}
	return nil, r.push(ctx, "onLeave", map[string]string{"user": username(m.UID)})
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
	r := roomOf(s.Services(), rid)
	out := map[string]string{"msg": m.Content, "from": username(s.UID()), "target": m.Target}
	if m.Target == "*" {
		return map[string]string{"route": m.Route}, r.push(ctx, "onChat", out)
	}
	to := m.Target + "*" + rid
	uids, err := r.members(ctx)
	if err != nil {
		return nil, err
	}
	fe, ok := uids[to]
	if !ok {
		return nil, fmt.Errorf("%s is not in room %s", m.Target, rid)
	}
	return map[string]string{"route": m.Route}, s.Services().PushToUIDs(ctx, "onChat", out, []server.Target{{UID: to, Frontend: fe}})
}

// room is a chat room: a channel of the chat server its router picks, or,
// when the topology declares globalChannel (profiles/global.yaml), a
// global channel in Redis, whose members any server can push to.
type room interface {
	add(ctx context.Context, uid, frontend string) error
	leave(ctx context.Context, uid, frontend string) error
	// members are the room's uids, with the frontend each is connected to.
	members(ctx context.Context) (map[string]string, error)
	push(ctx context.Context, route string, msg any) error
}

func roomOf(sv *server.Services, name string) room {
	if gc := sv.GlobalChannels(); gc != nil {
		return globalRoom{gc: gc, name: name}
	}
	return localRoom{cs: sv.Channels(), name: name}
}

type localRoom struct {
	cs   *server.Channels
	name string
}

func (r localRoom) add(_ context.Context, uid, frontend string) error {
	r.cs.Get(r.name, true).Add(uid, frontend)
	return nil
}

func (r localRoom) leave(_ context.Context, uid, _ string) error {
	if ch := r.cs.Get(r.name, false); ch != nil {
		ch.Leave(uid)
	}
	return nil
}

func (r localRoom) members(context.Context) (map[string]string, error) {
	out := map[string]string{}
	if ch := r.cs.Get(r.name, false); ch != nil {
		for _, uid := range ch.Members() {
			out[uid], _ = ch.Member(uid)
		}
	}
	return out, nil
}

func (r localRoom) push(ctx context.Context, route string, msg any) error {
	if ch := r.cs.Get(r.name, false); ch != nil {
		return ch.Push(ctx, route, msg)
	}
	return nil
}

type globalRoom struct {
	gc   *server.GlobalChannels
	name string
}

func (r globalRoom) add(ctx context.Context, uid, frontend string) error {
	return r.gc.Add(ctx, r.name, uid, frontend)
}

func (r globalRoom) leave(ctx context.Context, uid, frontend string) error {
	return r.gc.Leave(ctx, r.name, uid, frontend)
}

func (r globalRoom) members(ctx context.Context) (map[string]string, error) {
	byFrontend, err := r.gc.Members(ctx, r.name)
	out := map[string]string{}
	for fe, uids := range byFrontend {
		for _, uid := range uids {
			out[uid] = fe
		}
	}
	return out, err
}

func (r globalRoom) push(ctx context.Context, route string, msg any) error {
	return r.gc.Push(ctx, r.name, route, msg)
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
