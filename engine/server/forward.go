package server

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/rpc"
	"github.com/pomeloctl/pomeloctl/scripting"
)

// routeForward is the RPC route of a client request a frontend hands to a
// backend.
const routeForward = "sys.forward"

// forwarded is a client request on its way to a backend, with a copy of
// its session. On the wire (the body of an RPC call or notify to
// sys.forward): session id (varint), frontend id, uid, settings as JSON,
// route (each a varint length and bytes), then the request body.
type forwarded struct {
	session    int64
	frontendID string
	uid        string
	settings   []byte
	route      string
	body       []byte
}

func (f *forwarded) append(b []byte) []byte {
	b = binary.AppendVarint(b, f.session)
	b = appendString(b, f.frontendID)
	b = appendString(b, f.uid)
	b = binary.AppendUvarint(b, uint64(len(f.settings)))
	b = append(b, f.settings...)
	b = appendString(b, f.route)
	return append(b, f.body...)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// receivedForward is a forwarded request as a backend reads it: its fields
// alias the RPC's body, and become strings only where one is needed.
type receivedForward struct {
	session    int64
	frontendID []byte
	uid        []byte
	settings   []byte
	route      []byte
	body       []byte
}

var errBadForward = errors.New("a malformed forwarded request")

func parseForwarded(b []byte) (receivedForward, error) {
	var f receivedForward
	id, n := binary.Varint(b)
	if n <= 0 {
		return f, errBadForward
	}
	f.session, b = id, b[n:]
	for _, field := range []*[]byte{&f.frontendID, &f.uid, &f.settings, &f.route} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return f, errBadForward
		}
		*field, b = b[n:n+int(l)], b[n+int(l):]
	}
	f.body = b
	return f, nil
}

// forward sends a frontend's request for another server type to a
// backend of that type, picked by the type's router, and answers the
// client when the backend does: the frontend's HandleOtherAsync. Waiting
// holds nothing up: the client's next requests are forwarded meanwhile.
func forward(sv *Services) connector.AsyncHandlerFunc {
	return func(ctx context.Context, s *connector.Session, r *connector.Request, reply func(any, error)) {
		settings, err := s.SettingsJSON()
		if err != nil {
			reply(nil, fmt.Errorf("forward %s: the session's settings: %w", r.Route, err))
			return
		}
		typ, _, _ := strings.Cut(r.Route, ".")
		router := sv.routers[typ]
		by := scripting.Session{ID: s.ID(), UID: s.UID(), FrontendID: s.FrontendID()}
		var msg map[string]any
		if router.pick != nil {
			// Only a router of the game's may look at the settings and
			// the message, and only one that reads the message gets it
			// decoded: for the default router, which routes by uid, that
			// would be work for nothing on every request.
			by = scripting.NewSession(by.ID, by.UID, by.FrontendID, s.Settings())
			if router.msg {
				msg = decodeObject(r.Body)
			}
		}
		to, err := sv.pickBy(typ, router, r.Route, by, msg)
		if err != nil {
			reply(nil, &connector.Error{Code: 500, Msg: strings.TrimPrefix(err.Error(), rpc.ErrPeerGone.Error()+": ")})
			return
		}
		f := forwarded{session: by.ID, frontendID: by.FrontendID, uid: by.UID, settings: settings, route: r.Route, body: r.Body}
		// The request's own copy: the body is the client reader's buffer,
		// and a request that waits for its server is sent again later.
		d := &delivery{sv: sv, ctx: ctx, route: r.Route, to: to.ID, typ: typ, payload: f.append(make([]byte, 0, 3*binary.MaxVarintLen64+len(f.frontendID)+len(f.uid)+len(f.settings)+len(f.route)+len(f.body))), notify: r.Notify, reply: reply}
		d.attempt()
	}
}

// decodeObject is a JSON object's members; nil for anything else.
func decodeObject(b []byte) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// forwardAnswer turns a backend's answer to a forwarded request into the
// client's.
func forwardAnswer(route, backend string, res []byte, err error) (any, error) {
	if err == nil {
		return json.RawMessage(res), nil
	}
	var re *rpc.RemoteError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &re) && re.Msg == context.DeadlineExceeded.Error():
		// The caller's deadline passed, here or (the handler's context
		// ends with it) on the backend: whichever noticed first.
		return nil, &connector.Error{Code: 500, Msg: fmt.Sprintf("%s could not be handled: %s did not answer in time (deadline exceeded)", route, backend), Cause: context.DeadlineExceeded}
	case errors.As(err, &re):
		return nil, &connector.Error{Code: cmp.Or(re.Code, 500), Msg: re.Msg}
	}
	return nil, &connector.Error{Code: 500, Msg: fmt.Sprintf("%s could not be handled: %v", route, err)}
}

// callHandler runs a game's handler, turning a panic into an error that
// names the route: the client is answered, the server goes on.
func callHandler(ctx context.Context, log *slog.Logger, h routeHandler, s *BackendSession, body []byte) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panicked", "route", h.route, "panic", p, "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("internal error in %s", h.route)
		}
	}()
	return h.h(ctx, s, json.RawMessage(body))
}

// serveRemote runs a game's remote for a peer, in Go or in expr.
func serveRemote(ctx context.Context, app *App, sv *Services, r *rpc.Request) ([]byte, error) {
	var h Remote
	if app != nil {
		h = app.remotes[r.Route]
	}
	if h == nil {
		if sc := sv.scripts.remotes[r.Route]; sc != nil {
			return sv.remote(ctx, sc, r.Route, r.Body)
		}
		return nil, fmt.Errorf("no remote %s on %s", r.Route, sv.id)
	}
	res, err := h(ctx, sv, json.RawMessage(r.Body))
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// serveForward runs a forwarded request on a backend, counted in its
// metrics.
func serveForward(ctx context.Context, app *App, sv *Services, r *rpc.Request) ([]byte, error) {
	f, err := parseForwarded(r.Body)
	if err != nil {
		return nil, fmt.Errorf("%w from %s", err, r.From)
	}
	route := sv.metrics.RouteBytes(f.route)
	if route == nil {
		return runForward(ctx, app, sv, r, f)
	}
	start := time.Now()
	res, err := runForward(ctx, app, sv, r, f)
	route.Observe(time.Since(start), err)
	return res, err
}

// runForward runs a forwarded request's handler.
func runForward(ctx context.Context, app *App, sv *Services, r *rpc.Request, f receivedForward) ([]byte, error) {
	var err error
	h, ok := app.handler(f.route)
	var sc *script[scripting.HandlerEnv]
	if !ok { // the topology's, only for a route the game's code has not
		if sc = sv.scripts.handlers[string(f.route)]; sc == nil {
			return nil, fmt.Errorf("no handler for route %s", f.route)
		}
	}
	frontendID := r.From // who forwards is the frontend: its id, without a copy
	if string(f.frontendID) != frontendID {
		frontendID = string(f.frontendID)
	}
	s := &BackendSession{id: f.session, frontendID: frontendID, uid: string(f.uid), sv: sv}
	if len(f.settings) > 0 {
		if err := json.Unmarshal(f.settings, &s.settings); err != nil {
			return nil, fmt.Errorf("%w from %s: settings: %v", errBadForward, r.From, err)
		}
	}
	var res any
	if ok {
		res, err = callHandler(ctx, sv.log, h, s, f.body)
	} else {
		res, err = sv.handle(sc, sv.backendRun(ctx, s), string(f.route), f.body)
	}
	if err != nil {
		return nil, err
	}
	switch b := res.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		return b, nil
	}
	return json.Marshal(res)
}
