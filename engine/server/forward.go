package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/rpc"
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
	for _, s := range []string{f.frontendID, f.uid, string(f.settings), f.route} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, f.body...)
}

var errBadForward = errors.New("a malformed forwarded request")

func parseForwarded(b []byte) (forwarded, error) {
	var f forwarded
	id, n := binary.Varint(b)
	if n <= 0 {
		return f, errBadForward
	}
	f.session, b = id, b[n:]
	var fields [4]string
	for i := range fields {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return f, errBadForward
		}
		fields[i], b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	f.frontendID, f.uid, f.settings, f.route = fields[0], fields[1], []byte(fields[2]), fields[3]
	f.body = b
	return f, nil
}

// forward sends a frontend's request for another server type to a
// backend of that type, picked by the type's router, and answers the
// client when the backend does: the frontend's HandleOtherAsync. Waiting
// holds nothing up: the client's next requests are forwarded meanwhile.
func forward(sv *Services) connector.AsyncHandlerFunc {
	return func(ctx context.Context, s *connector.Session, r *connector.Request, reply func(any, error)) {
		info := sessionInfo(s)
		var settings []byte
		if len(info.Settings) > 0 {
			var err error
			if settings, err = json.Marshal(info.Settings); err != nil {
				reply(nil, fmt.Errorf("forward %s: the session's settings: %w", r.Route, err))
				return
			}
		}
		var msg map[string]any
		typ, _, _ := strings.Cut(r.Route, ".")
		if sv.app.hasRouter(typ) {
			// Only a game's router may look at the message: decoding it for
			// the default one would be work for nothing on every request.
			_ = json.Unmarshal(r.Body, &msg) // a non-object is nil
		}
		to, err := sv.pick(r.Route, info, msg)
		if err != nil {
			reply(nil, &connector.Error{Code: 500, Msg: strings.TrimPrefix(err.Error(), rpc.ErrPeerGone.Error()+": ")})
			return
		}
		f := forwarded{session: s.ID(), frontendID: s.FrontendID(), uid: s.UID(), settings: settings, route: r.Route, body: r.Body}
		payload := f.append(nil)
		if r.Notify {
			reply(nil, sv.node.Notify(ctx, to.ID, routeForward, payload))
			return
		}
		route := r.Route
		sv.node.Go(ctx, to.ID, routeForward, payload, func(res []byte, err error) {
			reply(forwardAnswer(route, to.ID, res, err))
		})
	}
}

// forwardAnswer turns a backend's answer to a forwarded request into the
// client's.
func forwardAnswer(route, backend string, res []byte, err error) (any, error) {
	var re *rpc.RemoteError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &re) && re.Msg == context.DeadlineExceeded.Error():
		// The caller's deadline passed, here or (the handler's context
		// ends with it) on the backend: whichever noticed first.
		return nil, &connector.Error{Code: 500, Msg: fmt.Sprintf("%s could not be handled: %s did not answer in time (deadline exceeded)", route, backend)}
	case errors.As(err, &re):
		return nil, &connector.Error{Code: 500, Msg: re.Msg}
	case err != nil:
		return nil, &connector.Error{Code: 500, Msg: fmt.Sprintf("%s could not be handled: %v", route, err)}
	}
	return json.RawMessage(res), nil
}

// callHandler runs a game's handler, turning a panic into an error that
// names the route: the client is answered, the server goes on.
func callHandler(ctx context.Context, log *slog.Logger, h Handler, s *BackendSession, f forwarded) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panicked", "route", f.route, "panic", p, "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("internal error in %s", f.route)
		}
	}()
	return h(ctx, s, json.RawMessage(f.body))
}

// serveRemote runs a game's remote for a peer.
func serveRemote(ctx context.Context, app *App, sv *Services, r *rpc.Request) ([]byte, error) {
	var h Remote
	if app != nil {
		h = app.remotes[r.Route]
	}
	if h == nil {
		return nil, fmt.Errorf("no remote %s on %s", r.Route, sv.id)
	}
	res, err := h(ctx, sv, json.RawMessage(r.Body))
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// serveForward runs a forwarded request on a backend.
func serveForward(ctx context.Context, app *App, sv *Services, r *rpc.Request) ([]byte, error) {
	f, err := parseForwarded(r.Body)
	if err != nil {
		return nil, fmt.Errorf("%w from %s", err, r.From)
	}
	h := app.handler(f.route)
	if h == nil {
		return nil, fmt.Errorf("no handler for route %s", f.route)
	}
	s := &BackendSession{id: f.session, frontendID: f.frontendID, uid: f.uid, sv: sv}
	if len(f.settings) > 0 {
		if err := json.Unmarshal(f.settings, &s.settings); err != nil {
			return nil, fmt.Errorf("%w from %s: settings: %v", errBadForward, r.From, err)
		}
	}
	res, err := callHandler(ctx, sv.log, h, s, f)
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
