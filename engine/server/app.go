package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/scripting"
)

// FrontendSession is a client's session on its frontend (Pomelo's
// FrontendSession), for a frontend's own handlers.
type FrontendSession struct {
	*connector.Session
	sv       *Services
	sessions *connector.Sessions
}

// Bound reports whether a session of this frontend is bound to uid
// (Pomelo's sessionService.getByUid).
func (s *FrontendSession) Bound(uid string) bool { return len(s.sessions.ByUID(uid)) > 0 }

// Services reaches the rest of the cluster: remotes, pushes and channels.
func (s *FrontendSession) Services() *Services { return s.sv }

// Info is the session as routers and remotes see it.
func (s *FrontendSession) Info() scripting.Session { return sessionInfo(s.Session) }

func sessionInfo(s *connector.Session) scripting.Session {
	return scripting.NewSession(s.ID(), s.UID(), s.FrontendID(), s.Settings())
}

// App is a game's code, for every server type: what a game written with
// the Go API hands the engine. Since one program holds every type's
// handlers, every process knows every route.
type App struct {
	handlers map[string]routeHandler
	frontend map[string]FrontendHandler
	remotes  map[string]Remote
	routers  map[string]Router
	onClose  []func(sv *Services, s scripting.Session)
	onBind   []func(sv *Services, s scripting.Session)
	onPeers  []peerHook
	hooks    []typeHooks
	filters  []typeFilter
	onError  []ErrorHandler
}

// typeFilter is a Go filter for the requests of one server type ("" for
// every type).
type typeFilter struct {
	serverType string
	before     BeforeFilter
	after      AfterFilter
}

// peerHook is a function run when a server joins (added) or leaves the
// cluster.
type peerHook struct {
	added bool
	fn    func(sv *Services, peer scripting.Server)
}

// Before adds f to the filters that requests for serverType ("" for every
// type) pass before they are handled, after the topology's filters. It
// runs on the frontend that received the request.
func (a *App) Before(serverType string, f BeforeFilter) {
	a.filters = append(a.filters, typeFilter{serverType: serverType, before: f})
}

// After adds f to the filters that see requests for serverType ("" for
// every type) once they are answered, after the topology's.
func (a *App) After(serverType string, f AfterFilter) {
	a.filters = append(a.filters, typeFilter{serverType: serverType, after: f})
}

// OnError adds h to what turns a failed request's error into the
// client's answer, after the topology's onError; each sees what the one
// before gave, while it is still an error.
func (a *App) OnError(h ErrorHandler) { a.onError = append(a.onError, h) }

// goChain is the game's filters for serverType: those for every type when
// serverType is "", and the error handlers with them.
func (a *App) goChain(serverType string) *chain {
	c := &chain{}
	if a == nil {
		return c
	}
	for _, tf := range a.filters {
		if tf.serverType != serverType {
			continue
		}
		if before := tf.before; before != nil {
			c.filters = append(c.filters, filter{before: func(fc *filterCall) error { return before(fc.ctx, &fc.FilterRequest) }})
		}
		if after := tf.after; after != nil {
			c.filters = append(c.filters, filter{after: func(fc *filterCall, res any, err error) { after(fc.ctx, &fc.FilterRequest, res, err) }})
		}
	}
	if serverType == "" {
		for _, h := range a.onError {
			c.onError = append(c.onError, func(fc *filterCall, err error) (any, error) { return h(fc.ctx, &fc.FilterRequest, err) })
		}
	}
	return c
}

// OnSessionBind runs fn on a frontend when a client's session is bound to
// a user (Pomelo's session "bind" event).
func (a *App) OnSessionBind(fn func(sv *Services, s scripting.Session)) {
	a.onBind = append(a.onBind, fn)
}

// OnServerAdded runs fn on every server when another joins the cluster
// (at a server's start, for each one already there), in order, off the
// monitor link's goroutine. Only servers run with a master see others.
func (a *App) OnServerAdded(fn func(sv *Services, peer scripting.Server)) {
	a.onPeers = append(a.onPeers, peerHook{added: true, fn: fn})
}

// OnServerRemoved runs fn on every server when another leaves the
// cluster (it stopped, crashed or was killed), as OnServerAdded.
func (a *App) OnServerRemoved(fn func(sv *Services, peer scripting.Server)) {
	a.onPeers = append(a.onPeers, peerHook{added: false, fn: fn})
}

// Hook runs at a point of a server's life (see App.AfterStart), with what
// reaches the rest of the cluster.
type Hook func(ctx context.Context, sv *Services) error

// typeHooks are the hooks of the servers of one type ("" for every type).
type typeHooks struct {
	serverType                            string
	afterStart, afterStartAll, beforeStop Hook
}

// FrontendHandler handles a client route of a frontend's own type
// ("connector.entryHandler.enter") on the frontend, with the real session.
type FrontendHandler func(ctx context.Context, s *FrontendSession, msg json.RawMessage) (any, error)

// Remote is a server-to-server call of the game's own (Pomelo's user
// namespace: "chat.chatRemote.add"), made with Services.Call.
type Remote func(ctx context.Context, sv *Services, args json.RawMessage) (any, error)

// Router picks the server of a type that takes a request or a remote call
// (Pomelo's app.route). Without one, a type uses scripting.DefaultPick.
type Router func(env scripting.RouterEnv) (scripting.Server, error)

// Handler handles a client route on a backend ("chat.chatHandler.send"),
// reached through a frontend. Its result is the response body (marshalled
// to JSON; json.RawMessage as it is), and an error answers the client with
// code 500 and the error's words.
type Handler func(ctx context.Context, s *BackendSession, msg json.RawMessage) (any, error)

// NewApp returns an App with no handlers.
func NewApp() *App {
	return &App{handlers: map[string]routeHandler{}, frontend: map[string]FrontendHandler{}, remotes: map[string]Remote{}, routers: map[string]Router{}}
}

// HandleFrontend registers h for route of a frontend type.
func (a *App) HandleFrontend(route string, h FrontendHandler) {
	mustRoute(route)
	a.frontend[route] = h
}

// Remote registers r for the remote route ("type.remote.method").
func (a *App) Remote(route string, r Remote) {
	mustRoute(route)
	a.remotes[route] = r
}

// Route sets the router of a server type.
func (a *App) Route(serverType string, r Router) { a.routers[serverType] = r }

// AfterStart runs fn on every server of serverType ("" for every type)
// once its components have started, before it is counted as started
// (Pomelo's lifecycle afterStartup). An error stops the server.
func (a *App) AfterStart(serverType string, fn Hook) {
	a.hooks = append(a.hooks, typeHooks{serverType: serverType, afterStart: fn})
}

// AfterStartAll runs fn on every server of serverType ("" for every type)
// once every server of the cluster has started, when the master says so
// (Pomelo's afterStartAll); once per process. An error is logged.
func (a *App) AfterStartAll(serverType string, fn Hook) {
	a.hooks = append(a.hooks, typeHooks{serverType: serverType, afterStartAll: fn})
}

// BeforeStop runs fn on every server of serverType ("" for every type)
// when it is asked to stop, before it drains (Pomelo's beforeShutdown). An
// error is logged and the stop goes on.
func (a *App) BeforeStop(serverType string, fn Hook) {
	a.hooks = append(a.hooks, typeHooks{serverType: serverType, beforeStop: fn})
}

// hooksFor are the hooks app registered for a server of serverType, bound
// to sv, after those of base.
func (a *App) hooksFor(serverType string, sv *Services, base Hooks) Hooks {
	if a == nil {
		return base
	}
	bind := func(h Hook) func(context.Context) error {
		return func(ctx context.Context) error { return h(ctx, sv) }
	}
	out := Hooks{AfterStart: slices.Clone(base.AfterStart), AfterStartAll: slices.Clone(base.AfterStartAll), BeforeStop: slices.Clone(base.BeforeStop)}
	for _, th := range a.hooks {
		if th.serverType != "" && th.serverType != serverType {
			continue
		}
		if th.afterStart != nil {
			out.AfterStart = append(out.AfterStart, bind(th.afterStart))
		}
		if th.afterStartAll != nil {
			out.AfterStartAll = append(out.AfterStartAll, bind(th.afterStartAll))
		}
		if th.beforeStop != nil {
			out.BeforeStop = append(out.BeforeStop, bind(th.beforeStop))
		}
	}
	return out
}

// OnSessionClose runs fn on a frontend when a client's session closes
// (Pomelo's session "closed" event), with what the session was.
func (a *App) OnSessionClose(fn func(sv *Services, s scripting.Session)) {
	a.onClose = append(a.onClose, fn)
}

func mustRoute(route string) {
	if strings.Count(route, ".") != 2 {
		panic(fmt.Sprintf("server: route %q is not type.handler.method", route))
	}
}

// gameRouter is the router the game set for a server type, or nil.
func (a *App) gameRouter(serverType string) Router {
	if a == nil {
		return nil
	}
	return a.routers[serverType]
}

// Handle registers h for route, "type.handler.method".
func (a *App) Handle(route string, h Handler) {
	mustRoute(route)
	a.handlers[route] = routeHandler{route, h}
}

// routeHandler is a handler and its route, which names it in errors: a
// forwarded request's route is looked up as it came, and is made a string
// of its own only when unknown.
type routeHandler struct {
	route string
	h     Handler
}

func (a *App) handler(route []byte) (routeHandler, bool) {
	if a == nil {
		return routeHandler{}, false
	}
	h, ok := a.handlers[string(route)]
	return h, ok
}

// BackendSession is a client's session as a backend sees it: a copy taken
// by the frontend when it forwarded the request (Pomelo's BackendSession).
// Its id and frontend never change; binding, settings and kicks go back to
// the frontend, which holds the real session.
type BackendSession struct {
	id         int64
	frontendID string
	uid        string
	settings   map[string]any
	sv         *Services
}

// Services reaches the rest of the cluster: pushes and channels.
func (s *BackendSession) Services() *Services { return s.sv }

// Bind binds the session to uid on its frontend (Pomelo's session.bind).
func (s *BackendSession) Bind(ctx context.Context, uid string) error {
	if err := s.sv.call(ctx, s.frontendID, routeBind, sysSession{Session: s.id, UID: uid}); err != nil {
		return err
	}
	s.uid = uid
	return nil
}

// Unbind unbinds the session's uid on its frontend.
func (s *BackendSession) Unbind(ctx context.Context) error {
	if err := s.sv.call(ctx, s.frontendID, routeUnbind, sysSession{Session: s.id}); err != nil {
		return err
	}
	s.uid = ""
	return nil
}

// Set sets a setting on this copy; Push writes settings back.
func (s *BackendSession) Set(key string, value any) {
	if s.settings == nil {
		s.settings = map[string]any{}
	}
	s.settings[key] = value
}

// Push writes the named settings (all, when none is named) back to the
// frontend's session, as Pomelo's session.push and pushAll do.
func (s *BackendSession) Push(ctx context.Context, keys ...string) error {
	out := s.settings
	if len(keys) > 0 {
		out = map[string]any{}
		for _, k := range keys {
			out[k] = s.settings[k]
		}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("push settings: %w", err)
	}
	return s.sv.call(ctx, s.frontendID, routeSettings, sysSession{Session: s.id, Settings: raw})
}

// Kick disconnects the session's client with reason.
func (s *BackendSession) Kick(ctx context.Context, reason string) error {
	return s.sv.call(ctx, s.frontendID, routeKick, sysSession{Session: s.id, Reason: reason})
}

// ID is the session's id on its frontend.
func (s *BackendSession) ID() int64 { return s.id }

// FrontendID is the frontend that holds the client's connection.
func (s *BackendSession) FrontendID() string { return s.frontendID }

// UID is the user bound to the session, or "" before login.
func (s *BackendSession) UID() string { return s.uid }

// Get returns the setting stored under key, as the frontend had it.
func (s *BackendSession) Get(key string) any { return s.settings[key] }
