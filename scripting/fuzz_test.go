package scripting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
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

// fuzzInput is what FuzzEnvironments decodes its input into: the request,
// the arguments or the answer the expression sees, and the session's
// state. An input that is not such an object is taken as the message (when
// it is one) and as args and reply.
type fuzzInput struct {
	Msg      map[string]any `json:"msg"`
	Args     any            `json:"args"`
	Reply    any            `json:"reply"`
	Settings map[string]any `json:"settings"`
	UID      string         `json:"uid"`
	Err      *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"err"`
	Fail string  `json:"fail"` // when set, rpc fails with a 503 carrying it
	Ms   float64 `json:"ms"`
}

// fuzzEnvironments are the environments FuzzEnvironments picks from with
// its kind byte, modulo their number.
var fuzzEnvironments = []string{"handler", "remote", "before filter", "after filter", "error handler", "lifecycle hook", "session hook", "peer hook"}

// FuzzEnvironments feeds arbitrary expressions and inputs to every
// environment but the router's (FuzzRouter has it): compiling never panics
// and fails with an *Error; running, against a fake host and session,
// never panics and fails with a *Failure or an *Error; a before filter the
// checker knows gives a bool gives one.
//
// A run that takes over a second is slow: it is appended, with its input,
// to the file named by $SCRIPTING_FUZZ_SLOW_LOG, when set.
//
//	go test -run '^$' -fuzz FuzzEnvironments -fuzztime 10m -parallel 1 ./scripting/
func FuzzEnvironments(f *testing.F) {
	const (
		handler byte = iota
		remote
		before
		after
		onError
		hook
		sessionHook
		peerHook
	)
	deep := func(open, leaf, close string, n int) string {
		return strings.Repeat(open, n) + leaf + strings.Repeat(close, n)
	}
	for _, seed := range []struct {
		kind       byte
		src, input string
	}{
		// examples/chat-expr/topology.yaml
		{handler, `let name = msg.username ?? "";
let rid = msg.rid ?? "";
let uid = name + "*" + rid;
if name == "" || rid == "" || session.bound(uid) {
  {code: 500, error: true}
} else {
  session.bind(uid);
  session.set("rid", rid);
  {users: rpc("chat.chatRemote.add", {uid: uid, sid: server.id, name: rid})}
}`, `{"msg":{"username":"alice","rid":"lobby"}}`},
		{handler, `let rid = session.get("rid") ?? "";
let out = {msg: msg.content, from: split(session.uid, "*")[0], target: msg.target};
if msg.target == "*" {
  channel.push(rid, "onChat", out)
} else {
  channel.push(rid, "onChat", out, [msg.target + "*" + rid])
};
{route: msg.route ?? ""}`, `{"msg":{"content":"hi","target":"bob","route":"onChat"},"uid":"alice*lobby","settings":{"rid":"lobby"}}`},
		{handler, `{code: 200, msg: msg, server: server.id}`, `{"msg":{"a":[1,"b",null,{"c":true}]}}`},
		{remote, `channel.push(args.name, "onAdd", {user: split(args.uid, "*")[0]});
channel.add(args.name, args.uid, args.sid);
map(channel.members(args.name), split(#, "*")[0])`, `{"args":{"uid":"bob*lobby","sid":"connector-server-2","name":"lobby"}}`},
		{remote, `channel.leave(args.name, args.uid);
channel.push(args.name, "onLeave", {user: split(args.uid, "*")[0]})`, `{"args":{"uid":"bob*lobby","sid":"connector-server-2","name":"lobby"}}`},
		{sessionHook, `session.uid == "" || session.get("rid") == nil ? nil :
  rpc("chat.chatRemote.kick", {uid: session.uid, sid: session.frontendId, name: session.get("rid")})`, `{"uid":"alice*lobby","settings":{"rid":"lobby"}}`},
		// engine/server/expr_test.go
		{hook, `log("started", server.id)`, `{}`},
		{peerHook, `log("added", peer.id, peer.type)`, `{}`},
		{sessionHook, `log("bound", session.uid)`, `{"uid":"alice"}`},
		{handler, `session.bind(msg.uid); session.set("room", msg.room ?? "lobby"); {uid: session.uid, room: session.get("room")}`, `{"msg":{"uid":"alice"}}`},
		{handler, `{msg: msg, server: server.id, uid: session.uid, room: session.get("room")}`, `{"msg":{"a":1},"uid":"alice","settings":{"room":"lobby"}}`},
		{handler, "let d = int(msg.by);\n        {n: 10 % d}", `{"msg":{"by":0}}`},
		{handler, `error(401, "log in first")`, `{}`},
		{handler, `{members: rpc("game.gameRemote.join", {uid: session.uid, sid: session.frontendId})}`, `{"uid":"alice"}`},
		{handler, `session.set("x", msg.x); {x: session.get("x")}`, `{"msg":{"x":3}}`},
		{remote, `channel.add("room", args.uid, args.sid); channel.members("room")`, `{"args":{"uid":"alice","sid":"connector-1"}}`},
		// scripting's own tests
		{before, `session.uid != "" || error(401, "log in first")`, `{}`},
		{before, `session.get("admin") ?? false`, `{"settings":{"admin":"yes"}}`},
		{before, `msg.n > 1 && route startsWith "chat."`, `{"msg":{"n":2}}`},
		{after, `log(route, ms, reply, err)`, `{"reply":{"ok":true},"ms":1.5}`},
		{after, `err == nil ? nil : push("onError", {code: err.code}, [{uid: session.uid, sid: session.frontendId}])`, `{"uid":"alice","err":{"code":500,"message":"boom"}}`},
		{onError, `{code: err.code, error: true}`, `{"err":{"code":503,"message":"restarting"}}`},
		{onError, `err.code == 401 ? {code: 401, msg: err.message} : nil`, `{"err":{"code":401,"message":"who?"}}`},
		{hook, `channel.destroy("lobby"); channel.members("lobby")`, `{}`},
		{peerHook, `peer.type == "chat" ? rpcTo(peer.id, "chat.chatRemote.add", {uid: "x", sid: server.id, name: "lobby"}) : nil`, `{}`},
		// Nasty ones.
		{handler, `msg.a.b.c`, `{"msg":{"a":null}}`},
		{handler, `nil.a`, `{}`},
		{remote, `args[0].x ?? args.y`, `[1,2,3]`},
		{handler, `1 % 0`, `{}`},
		{handler, `let z = 0; 1 % z`, `{}`},
		{handler, `1 / 0`, `{}`},
		{handler, `len(1..1000000000)`, `{}`},
		{handler, `1..1e9`, `{}`},
		{remote, `map(1..1000, map(1..1000, #))`, `{}`},
		{remote, `let r = 1..300; sum(map(r, count(r, # > 150)))`, `{}`},
		{handler, `repeat("x", int(msg.n))`, `{"msg":{"n":1e300}}`},
		{handler, deep("(", "1", ")", 300), `{}`},
		{handler, deep("[", "1", "]", 300), `{}`},
		{handler, deep("{a: ", "msg", "}", 200), `{"msg":{}}`},
		{handler, strings.Repeat("-", 5000) + "1", `{}`},
		{handler, `session.bind(nil)`, `{}`},
		{handler, `session.bind(msg.uid)`, `{"msg":{"uid":5}}`},
		{handler, `session.bind(""); session.bind("a"); session.bind("b")`, `{}`},
		{handler, `session.set("", 1)`, `{}`},
		{handler, `session.kick(); session.unbind(); session.kick("bye", "again")`, `{}`},
		{handler, `rpc("chat.chatRemote", msg)`, `{"msg":{}}`},
		{handler, `rpc("chat.chatRemote.add", msg, duration("-1s"))`, `{"msg":{}}`},
		{handler, `rpc(msg.route, msg, duration("1ns"))`, `{"msg":{"route":"a.b.c"},"fail":"restarting"}`},
		{peerHook, `rpcTo("", "chat.chatRemote.add", {})`, `{}`},
		{remote, `channel.push(args.name, "onChat", args, [1, nil, args])`, `{"args":{"name":"lobby"}}`},
		{remote, `channel.push("lobby", "", {})`, `{}`},
		{remote, `channel.add("", "", ""); channel.add("a", "b", "")`, `{}`},
		{remote, `channel.push("lobby", "onChat", {}, args)`, `{"args":["a","b"]}`},
		{handler, `push("onX", msg, [{uid: 1, sid: nil}, "x", nil])`, `{}`},
		{handler, `error(-1)`, `{}`},
		{handler, `error(0, "")`, `{}`},
		{handler, `error(int(msg.code), msg.text)`, `{"msg":{"code":1e300,"text":5}}`},
		{before, `error(9223372036854775807, "max")`, `{}`},
		{before, `msg.ok`, `{"msg":{"ok":1}}`},
		{after, `reply.x.y + err.message`, `{"reply":[1]}`},
		{onError, `err.code / 0`, `null`},
		{hook, `md5(str(server)) + sha1("") + sha256(nil ?? "") + str(fnv32(server.id)) + str(crc32(""))`, `{}`},
		{sessionHook, `session.settings.a.b ?? session.get(1, 2)`, `{"settings":{"a":{"b":null}}}`},
		{peerHook, `peer.settings.x + peer.port`, `{}`},
		{hook, `ctx`, `{}`},
		{handler, `reply(ctx.Host)`, `{}`},
	} {
		f.Add(seed.kind, seed.src, seed.input)
	}
	slowLog := os.Getenv("SCRIPTING_FUZZ_SLOW_LOG")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, kind byte, src, input string) {
		kind %= byte(len(fuzzEnvironments))
		what := fuzzEnvironments[kind]

		var in fuzzInput
		if err := json.Unmarshal([]byte(input), &in); err != nil {
			in = fuzzInput{}
			var v any
			if json.Unmarshal([]byte(input), &v) == nil {
				in.Msg, _ = v.(map[string]any)
				in.Args, in.Reply = v, v
			}
		}
		h := &fakeHost{}
		if in.Fail != "" {
			h.fail = fmt.Errorf("chat-server-1: %w", &Failure{Code: 503, Msg: in.Fail})
		}
		sess := &fakeSession{uid: in.UID, settings: map[string]any{}}
		for k, v := range in.Settings {
			sess.settings[k] = v
		}
		settings := map[string]any{}
		for k, v := range in.Settings {
			settings[k] = v
		}
		info := NewSession(7, in.UID, "connector-server-1", settings)
		live := NewLiveSession(info)
		var errInfo *ErrInfo
		if in.Err != nil {
			errInfo = &ErrInfo{Code: in.Err.Code, Msg: in.Err.Message}
		}
		self := Server{ID: "connector-server-1", Type: "connector", Host: "127.0.0.1", Port: 4050, ClientPort: 3050, Frontend: true, Settings: map[string]any{"region": "eu"}, State: "running"}
		peer := Server{ID: "chat-server-2", Type: "chat", Host: "127.0.0.1", Port: 6051, State: "running"}
		route := "chat.chatHandler.send"
		// The call of a request's run: its session, live.
		request := func() *Call {
			return &Call{Context: context.Background(), Host: h, Session: sess, Live: &live, Log: logger}
		}
		// The call of a run with no session.
		bare := func() *Call { return &Call{Context: context.Background(), Host: h, Log: logger} }

		var (
			compileErr error
			run        func() (any, error)
			boolFilter bool // a before filter the checker knows gives a bool
		)
		switch kind {
		case handler:
			p, err := CompileHandler(src)
			compileErr = err
			if err == nil {
				run = func() (any, error) {
					return p.Run(&HandlerEnv{Ctx: request(), Msg: in.Msg, Route: route, Session: &live, Server: self, Channel: ChannelFunctions()})
				}
			}
		case remote:
			p, err := CompileRemote(src)
			compileErr = err
			if err == nil {
				run = func() (any, error) {
					return p.Run(&RemoteEnv{Ctx: bare(), Args: in.Args, Route: "chat.chatRemote.add", Server: self, Channel: ChannelFunctions()})
				}
			}
		case before:
			p, err := CompileFilter(src)
			compileErr = err
			if err == nil {
				boolFilter = p.program.Node().Type().Kind() == reflect.Bool
				run = func() (any, error) {
					return p.Run(&FilterEnv{Ctx: request(), Msg: in.Msg, Route: route, Session: &live, Server: self, Channel: ChannelFunctions()})
				}
			}
		case after:
			p, err := CompileAfter(src)
			compileErr = err
			if err == nil {
				run = func() (any, error) {
					return p.Run(&AfterEnv{Ctx: request(), Msg: in.Msg, Route: route, Session: &live, Server: self, Channel: ChannelFunctions(), Reply: in.Reply, Err: errInfo, Ms: in.Ms})
				}
			}
		case onError:
			p, err := CompileErrorHandler(src)
			compileErr = err
			if err == nil {
				if errInfo == nil { // an error handler always has one
					errInfo = &ErrInfo{Code: 500, Msg: "failed"}
				}
				run = func() (any, error) {
					return p.Run(&ErrorEnv{Ctx: request(), Msg: in.Msg, Route: route, Session: &live, Server: self, Err: errInfo})
				}
			}
		case hook:
			p, err := CompileHook(src)
			compileErr = err
			if err == nil {
				run = func() (any, error) {
					return p.Run(&HookEnv{Ctx: bare(), Server: self, Channel: ChannelFunctions()})
				}
			}
		case sessionHook:
			p, err := CompileSessionHook(src)
			compileErr = err
			if err == nil {
				run = func() (any, error) {
					c := bare()
					c.By = info
					return p.Run(&SessionHookEnv{Ctx: c, Server: self, Channel: ChannelFunctions(), Session: info})
				}
			}
		case peerHook:
			p, err := CompilePeerHook(src)
			compileErr = err
			if err == nil {
				run = func() (any, error) {
					return p.Run(&PeerHookEnv{Ctx: bare(), Server: self, Channel: ChannelFunctions(), Peer: peer})
				}
			}
		}
		if compileErr != nil {
			if _, ok := compileErr.(*Error); !ok {
				t.Fatalf("compiling the %s %q: %T %v; want an *Error", what, src, compileErr, compileErr)
			}
			return
		}

		start := time.Now()
		if slowLog != "" {
			watch := time.AfterFunc(time.Second, func() { noteSlow(slowLog, "still running after 1s", kind, src, input) })
			defer func() {
				if watch.Stop() {
					return
				}
				noteSlow(slowLog, "took "+time.Since(start).String(), kind, src, input)
			}()
		}
		out, err := run()
		if err != nil {
			var fl *Failure
			var e *Error
			if !errors.As(err, &fl) && !errors.As(err, &e) {
				t.Fatalf("running the %s %q on %q: %T %v; want a *Failure or an *Error", what, src, input, err, err)
			}
			return
		}
		if _, isBool := out.(bool); boolFilter && !isBool {
			t.Fatalf("the before filter %q, checked as a bool, gave %T %v on %q", src, out, out, input)
		}
	})
}

// noteSlow appends a slow run of FuzzEnvironments to the file path.
func noteSlow(path, how string, kind byte, src, input string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s: kind %d (%s) src %q input %q\n", how, kind, fuzzEnvironments[kind], src, input)
}
