package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/metrics"
	"github.com/pomeloctl/pomeloctl/engine/rpc"
	"github.com/pomeloctl/pomeloctl/scripting"
)

// The system routes a frontend serves to backends, for their sessions and
// pushes (Pomelo's BackendSessionService and channel pushes). Bodies are
// JSON: sysSession for the session routes, sysPush for pushes.
const (
	routeBind     = "sys.bind"     // bind the session to a uid
	routeUnbind   = "sys.unbind"   // unbind it
	routeSettings = "sys.settings" // write settings back to the frontend's session
	routeKick     = "sys.kick"     // kick a session, or every session of a uid
	routePush     = "sys.push"     // push a message to clients of this frontend
)

type sysSession struct {
	Session  int64           `json:"sid,omitempty"`
	UID      string          `json:"uid,omitempty"`
	Settings json.RawMessage `json:"settings,omitempty"`
	Reason   string          `json:"reason,omitempty"`
}

type sysPush struct {
	Route string          `json:"route"`
	UIDs  []string        `json:"uids,omitempty"`
	Msg   json.RawMessage `json:"msg"`
}

// serveSys runs a system route on a frontend.
func serveSys(fe *frontend, r *rpc.Request) ([]byte, error) {
	if fe == nil {
		return nil, fmt.Errorf("%s: this server is not a frontend", r.Route)
	}
	sessions := fe.srv.Sessions()
	if strings.HasPrefix(r.Route, "sys.gc.") {
		if fe.gc == nil {
			return nil, fmt.Errorf("%s: %w", r.Route, ErrNoGlobalChannels)
		}
		return nil, fe.gc.serveGC(r.Route, r.Body)
	}
	if r.Route == routePush {
		var p sysPush
		if err := json.Unmarshal(r.Body, &p); err != nil {
			return nil, fmt.Errorf("%s from %s: %w", r.Route, r.From, err)
		}
		push, err := fe.srv.EncodePush(p.Route, p.Msg)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, uid := range p.UIDs {
			for _, s := range sessions.ByUID(uid) {
				// A client gone meanwhile is no error of the pusher's.
				if s.PushEncoded(push) == nil {
					n++
				}
			}
		}
		fe.metrics.Pushed(p.Route, n)
		return nil, nil
	}
	var a sysSession
	if err := json.Unmarshal(r.Body, &a); err != nil {
		return nil, fmt.Errorf("%s from %s: %w", r.Route, r.From, err)
	}
	if r.Route == routeKick && a.Session == 0 {
		sessions.KickUID(a.UID, a.Reason)
		return nil, nil
	}
	s := sessions.Get(a.Session)
	if s == nil {
		return nil, fmt.Errorf("%s: no session %d on this frontend (the client left)", r.Route, a.Session)
	}
	switch r.Route {
	case routeBind:
		return nil, s.Bind(a.UID)
	case routeUnbind:
		s.Unbind()
	case routeSettings:
		var settings map[string]any
		if err := json.Unmarshal(a.Settings, &settings); err != nil {
			return nil, fmt.Errorf("%s from %s: %w", r.Route, r.From, err)
		}
		for k, v := range settings {
			s.Set(k, v)
		}
	case routeKick:
		return nil, s.Kick(a.Reason)
	default:
		return nil, fmt.Errorf("no system route %s", r.Route)
	}
	return nil, nil
}

// Services are what a backend's handlers reach the cluster through:
// pushes to users wherever they are connected, and channels.
type Services struct {
	id      string
	node    *rpc.Node
	chans   *Channels
	gchans  *GlobalChannels // nil without topology.globalChannel
	peers   *peers
	app     *App
	routers map[string]typeRouter // by server type; none: DefaultPick
	scripts *scripts              // the topology's handlers, remotes and hooks for this server
	self    scripting.Server      // this server, as expressions see it
	log     *slog.Logger
	// hookRuns runs onServerAdded and onServerRemoved hooks in order.
	hookRuns ordered
	metrics  *metrics.Server // nil without an httpPort: nothing counted
}

// ID is this server's id.
func (sv *Services) ID() string { return sv.id }

// Call calls the remote route ("chat.chatRemote.add") on the server of its
// type that the type's router picks for the session by (Pomelo's
// app.rpc.chat.chatRemote.add(session, ...)), and decodes its answer into
// out, unless out is nil.
func (sv *Services) Call(ctx context.Context, route string, by scripting.Session, args, out any) error {
	to, err := sv.pick(route, by, nil)
	if err != nil {
		return err
	}
	return sv.CallServer(ctx, to.ID, route, args, out)
}

// CallServer calls the remote route on server id.
func (sv *Services) CallServer(ctx context.Context, id, route string, args, out any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("%s: the arguments: %w", route, err)
	}
	res, err := sv.callWhenBack(ctx, id, route, body)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("%s on %s: the answer: %w", route, id, err)
	}
	return nil
}

// pick is the server of route's type that takes a request or call for the
// session, by the type's router.
func (sv *Services) pick(route string, by scripting.Session, msg map[string]any) (scripting.Server, error) {
	typ, _, _ := strings.Cut(route, ".")
	if by.Get == nil {
		by = scripting.NewSession(by.ID, by.UID, by.FrontendID, by.Settings)
	}
	return sv.pickBy(typ, sv.routers[typ], route, by, msg)
}

// pickBy is pick with route's type and its router at hand.
func (sv *Services) pickBy(typ string, router typeRouter, route string, by scripting.Session, msg map[string]any) (scripting.Server, error) {
	servers := sv.peers.ofType(typ)
	if len(servers) == 0 {
		return scripting.Server{}, fmt.Errorf("%w: no server of type %s is running to handle %s", rpc.ErrPeerGone, typ, route)
	}
	env := scripting.RouterEnv{Session: by, Msg: msg, Route: route, Servers: servers}
	if router.pick == nil {
		return scripting.DefaultPick(env)
	}
	if router.cloned {
		env.Servers = slices.Clone(servers) // a game's router may change what it is given
	}
	to, err := router.pick(env)
	if err != nil {
		return scripting.Server{}, fmt.Errorf("%s could not be routed: the router of %s: %w", route, typ, err)
	}
	return to, nil
}

// Target is a user and the frontend that holds its connection.
type Target = scripting.Target

// PushToUIDs pushes msg on route to each target's clients: one RPC per
// frontend, whatever the number of users on it.
func (sv *Services) PushToUIDs(ctx context.Context, route string, msg any, targets []Target) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("push %s: %w", route, err)
	}
	byFrontend := map[string][]string{}
	var order []string
	for _, t := range targets {
		if _, ok := byFrontend[t.Frontend]; !ok {
			order = append(order, t.Frontend)
		}
		byFrontend[t.Frontend] = append(byFrontend[t.Frontend], t.UID)
	}
	var errs []error
	for _, fe := range order {
		p, err := json.Marshal(sysPush{Route: route, UIDs: byFrontend[fe], Msg: body})
		if err == nil {
			err = sv.node.Notify(ctx, fe, routePush, p)
			sv.metrics.Called(routePush, fe, err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("push %s to %s: %w", route, fe, err))
		}
	}
	return errors.Join(errs...)
}

// Channels are this server's channels.
func (sv *Services) Channels() *Channels { return sv.chans }

// call runs a system route on a frontend, for a backend session.
func (sv *Services) call(ctx context.Context, frontend, route string, a sysSession) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = sv.node.Call(ctx, frontend, route, body)
	sv.metrics.Called(route, frontend, err)
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		return &connector.Error{Code: cmp.Or(re.Code, http.StatusInternalServerError), Msg: strings.TrimPrefix(re.Msg, route+": ")}
	}
	return err
}
