package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/rpc"
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// script is one expression of the topology compiled in its environment,
// with where it is written: a run's error is logged at its place.
type script[E any] struct {
	prog *scripting.Program[E]
	at   topology.Expr
	path string // its key: "servers.chat.handlers.chatHandler.send"

	logOnce sync.Once
	log     *slog.Logger // where its log() writes; a plan serves one process
}

// compileScript compiles e, or says where it fails to, as validate does.
func compileScript[E any](e topology.Expr, path string, compile func(string) (*scripting.Program[E], error)) (*script[E], error) {
	if e.IsZero() {
		return nil, nil
	}
	p, err := compile(e.Source)
	if err != nil {
		var se *scripting.Error
		if errors.As(err, &se) {
			return nil, &topology.Error{Pos: e.At(se.Line, se.Column), Path: path, Msg: se.Msg, Hint: se.Hint}
		}
		return nil, &topology.Error{Pos: e.Pos, Path: path, Msg: err.Error()}
	}
	return &script[E]{prog: p, at: e, path: path}, nil
}

// run runs the script for route ("" outside a request). A refusal the
// expression makes (error(code, message)) is the client's answer as it
// is; any other error is logged at its place in the topology and answers
// code 500 (or the code of what failed under it: a server that is
// restarting), and the server goes on.
func (s *script[E]) run(log *slog.Logger, route string, env *E) (any, error) {
	out, err := s.prog.Run(env)
	if err == nil {
		return out, nil
	}
	var f *scripting.Failure
	if errors.As(err, &f) {
		return nil, &connector.Error{Code: f.Code, Msg: f.Msg}
	}
	at, msg := s.at.Pos, err.Error()
	var se *scripting.Error
	if errors.As(err, &se) {
		at, msg = s.at.At(se.Line, se.Column), se.Msg
	}
	log.Error("an expression failed", "route", route, "at", at.String(), "key", s.path, "err", msg)
	var ce *connector.Error
	if errors.As(err, &ce) {
		return nil, ce
	}
	var re *rpc.RemoteError
	if errors.As(err, &re) && re.Code != 0 {
		return nil, &connector.Error{Code: re.Code, Msg: re.Msg}
	}
	if route != "" {
		msg = route + ": " + msg
	}
	return nil, &connector.Error{Code: 500, Msg: msg}
}

// call is a run of the script outside a request, on sv.
func (s *script[E]) call(ctx context.Context, sv *Services) *scripting.Call {
	return &scripting.Call{Context: ctx, Host: exprHost{sv}, Log: s.logger(sv.log)}
}

// logger is where the script's log() writes: log, which is the same for
// every run, with the script's place.
func (s *script[E]) logger(log *slog.Logger) *slog.Logger {
	s.logOnce.Do(func() { s.log = log.With("at", s.at.Pos.String(), "key", s.path) })
	return s.log
}

// scripts are the handlers, remotes and hooks a server runs that the
// topology writes as expressions: its own type's, and the hooks of every
// server.
type scripts struct {
	handlers map[string]*script[scripting.HandlerEnv] // by route
	remotes  map[string]*script[scripting.RemoteEnv]
	hooks    []hookScripts // the top level's, then the type's
}

// ordered runs functions one at a time, in the order given, on a
// goroutine of its own while there are any.
type ordered struct {
	mu      sync.Mutex
	pending []func()
	running bool
}

func (o *ordered) do(fn func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, fn)
	if !o.running {
		o.running = true
		go o.drain()
	}
}

func (o *ordered) drain() {
	for {
		o.mu.Lock()
		if len(o.pending) == 0 {
			o.running = false
			o.mu.Unlock()
			return
		}
		fn := o.pending[0]
		o.pending = o.pending[1:]
		o.mu.Unlock()
		fn()
	}
}

type hookScripts struct {
	afterStart, afterStartAll, beforeStop *script[scripting.HookEnv]
	onSessionBind, onSessionClose         *script[scripting.SessionHookEnv]
	onServerAdded, onServerRemoved        *script[scripting.PeerHookEnv]
}

// compileScripts compiles what server type typ runs of t's expressions.
func compileScripts(t *topology.Topology, typ string) (*scripts, error) {
	out := &scripts{handlers: map[string]*script[scripting.HandlerEnv]{}, remotes: map[string]*script[scripting.RemoteEnv]{}}
	var errs topology.ErrorList
	add := func(err error) {
		var te *topology.Error
		if errors.As(err, &te) {
			errs = append(errs, te)
		}
	}
	hooks := func(h topology.Hooks, path string) {
		var hs hookScripts
		var err error
		for _, life := range []struct {
			to  **script[scripting.HookEnv]
			e   topology.Expr
			key string
		}{{&hs.afterStart, h.AfterStart, "afterStart"}, {&hs.afterStartAll, h.AfterStartAll, "afterStartAll"}, {&hs.beforeStop, h.BeforeStop, "beforeStop"}} {
			*life.to, err = compileScript(life.e, path+"."+life.key, scripting.CompileHook)
			add(err)
		}
		hs.onSessionBind, err = compileScript(h.OnSessionBind, path+".onSessionBind", scripting.CompileSessionHook)
		add(err)
		hs.onSessionClose, err = compileScript(h.OnSessionClose, path+".onSessionClose", scripting.CompileSessionHook)
		add(err)
		hs.onServerAdded, err = compileScript(h.OnServerAdded, path+".onServerAdded", scripting.CompilePeerHook)
		add(err)
		hs.onServerRemoved, err = compileScript(h.OnServerRemoved, path+".onServerRemoved", scripting.CompilePeerHook)
		add(err)
		out.hooks = append(out.hooks, hs)
	}
	hooks(t.Hooks, "hooks")
	if st := t.Types.Get(typ); st != nil {
		path := "servers." + typ
		hooks(st.Hooks, path+".hooks")
		for name, e := range st.Handlers {
			sc, err := compileScript(e, path+".handlers."+name, scripting.CompileHandler)
			add(err)
			out.handlers[typ+"."+name] = sc
		}
		for name, e := range st.Remotes {
			sc, err := compileScript(e, path+".remotes."+name, scripting.CompileRemote)
			add(err)
			out.remotes[typ+"."+name] = sc
		}
	}
	return out, errs.Err()
}

// exprRun is what one run of a handler, a filter or a hook needs, in one
// allocation.
type exprRun struct {
	call scripting.Call
	live scripting.LiveSession
}

// frontendRun is a run on a frontend, for its own session.
func (sv *Services) frontendRun(ctx context.Context, cs *connector.Session, sessions *connector.Sessions) *exprRun {
	return sv.newRun(ctx, sessionInfo(cs), frontendSessionHost{cs, sessions})
}

// backendRun is a run on a backend, for a session that a frontend holds.
func (sv *Services) backendRun(ctx context.Context, bs *BackendSession) *exprRun {
	return sv.newRun(ctx, scripting.NewSession(bs.id, bs.uid, bs.frontendID, bs.settings), backendSessionHost{bs})
}

// newRun is a run for session s, acted on through host.
func (sv *Services) newRun(ctx context.Context, s scripting.Session, host scripting.SessionHost) *exprRun {
	r := &exprRun{live: scripting.NewLiveSession(s)}
	r.call = scripting.Call{Context: ctx, Host: exprHost{sv}, Session: host, Live: &r.live, Log: sv.log}
	return r
}

// handle runs an expression handler for a request.
func (sv *Services) handle(sc *script[scripting.HandlerEnv], r *exprRun, route string, body []byte) (any, error) {
	env := scripting.HandlerEnv{Ctx: &r.call, Route: route, Session: &r.live, Server: sv.self, Channel: scripting.ChannelFunctions(), GlobalChannel: scripting.GlobalChannelFunctions()}
	switch {
	case sc.prog.PassesMsg() && isObject(body):
		// Handed on whole: the client's JSON goes as it came, neither
		// decoded nor encoded again. (The body outlives the run: the
		// answer and every call it makes are encoded before it returns.)
		env.Msg = json.RawMessage(body)
	case sc.prog.Reads("msg"):
		if m := decodeObject(body); m != nil {
			env.Msg = m
		}
	}
	r.call.Log = sc.logger(sv.log)
	return sc.run(sv.log, route, &env)
}

// frontendHandler is an expression handler of a frontend's own type.
func (sv *Services) frontendHandler(sc *script[scripting.HandlerEnv], sessions *connector.Sessions) connector.HandlerFunc {
	return func(ctx context.Context, cs *connector.Session, r *connector.Request) (any, error) {
		return sv.handle(sc, sv.frontendRun(ctx, cs, sessions), r.Route, r.Body)
	}
}

// remote runs an expression remote for a peer's call.
func (sv *Services) remote(ctx context.Context, sc *script[scripting.RemoteEnv], route string, body []byte) ([]byte, error) {
	var args any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &args); err != nil {
			return nil, err
		}
	}
	call := sc.call(ctx, sv)
	env := scripting.RemoteEnv{Ctx: call, Args: args, Route: route, Server: sv.self, Channel: scripting.ChannelFunctions(), GlobalChannel: scripting.GlobalChannelFunctions()}
	out, err := sc.run(sv.log, route, &env)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// lifeHooks are h with the topology's afterStart, afterStartAll and
// beforeStop before them (the top level's, then the type's): the
// topology declares the cluster, and the game's code builds on it.
func (sc *scripts) lifeHooks(sv *Services, h Hooks) Hooks {
	var out Hooks
	for _, hs := range sc.hooks {
		out.AfterStart = appendLifeHook(out.AfterStart, sv, hs.afterStart)
		out.AfterStartAll = appendLifeHook(out.AfterStartAll, sv, hs.afterStartAll)
		out.BeforeStop = appendLifeHook(out.BeforeStop, sv, hs.beforeStop)
	}
	out.AfterStart = append(out.AfterStart, h.AfterStart...)
	out.AfterStartAll = append(out.AfterStartAll, h.AfterStartAll...)
	out.BeforeStop = append(out.BeforeStop, h.BeforeStop...)
	return out
}

func appendLifeHook(list []func(context.Context) error, sv *Services, sc *script[scripting.HookEnv]) []func(context.Context) error {
	if sc == nil {
		return list
	}
	return append(list, func(ctx context.Context) error {
		call := sc.call(ctx, sv)
		_, err := sc.run(sv.log, "", &scripting.HookEnv{Ctx: call, Server: sv.self, Channel: scripting.ChannelFunctions(), GlobalChannel: scripting.GlobalChannelFunctions()})
		return err
	})
}

// sessionHooks registers the topology's onSessionBind and onSessionClose
// with a frontend's connector. They run on the goroutine that bound or
// closed the session, and rpc routes for the session.
func (sc *scripts) sessionHooks(sv *Services, srv *connector.Server) {
	for _, hs := range sc.hooks {
		for _, h := range []struct {
			sc *script[scripting.SessionHookEnv]
			on func(func(*connector.Session))
		}{{hs.onSessionBind, srv.OnBind}, {hs.onSessionClose, srv.OnClose}} {
			if h.sc == nil {
				continue
			}
			h.on(func(cs *connector.Session) {
				info := sessionInfo(cs)
				call := h.sc.call(context.Background(), sv)
				call.By = info
				_, _ = h.sc.run(sv.log, "", &scripting.SessionHookEnv{Ctx: call, Server: sv.self, Channel: scripting.ChannelFunctions(), GlobalChannel: scripting.GlobalChannelFunctions(), Session: info})
			})
		}
	}
}

// peersChanged runs the onServerAdded and onServerRemoved hooks, the
// topology's then the game's, for servers that joined or left the cluster
// (as this server sees it: at its first view, every other server joins).
// They run in order, off the monitor link's goroutine: a hook that calls
// a restarting server waits for the membership that says it is back.
func (sv *Services) peersChanged(joined, left []scripting.Server) {
	if len(joined)+len(left) == 0 || !sv.scripts.hasPeerHooks() && (sv.app == nil || len(sv.app.onPeers) == 0) {
		return
	}
	sv.hookRuns.do(func() {
		sv.scripts.runPeerHooks(sv, joined, left)
		if sv.app == nil {
			return
		}
		for _, h := range sv.app.onPeers {
			peers := left
			if h.added {
				peers = joined
			}
			for _, p := range peers {
				h.fn(sv, p)
			}
		}
	})
}

func (sc *scripts) hasPeerHooks() bool {
	for _, hs := range sc.hooks {
		if hs.onServerAdded != nil || hs.onServerRemoved != nil {
			return true
		}
	}
	return false
}

func (sc *scripts) runPeerHooks(sv *Services, joined, left []scripting.Server) {
	for _, hs := range sc.hooks {
		for _, h := range []struct {
			sc    *script[scripting.PeerHookEnv]
			peers []scripting.Server
		}{{hs.onServerAdded, joined}, {hs.onServerRemoved, left}} {
			if h.sc == nil {
				continue
			}
			for _, peer := range h.peers {
				call := h.sc.call(context.Background(), sv)
				_, _ = h.sc.run(sv.log, "", &scripting.PeerHookEnv{Ctx: call, Server: sv.self, Channel: scripting.ChannelFunctions(), GlobalChannel: scripting.GlobalChannelFunctions(), Peer: peer})
			}
		}
	}
}

// isObject reports whether b is a JSON object, as decodeObject takes.
func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
