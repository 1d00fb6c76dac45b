package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// FilterRequest is a client's request as filters see it, on the frontend
// that received it.
type FilterRequest struct {
	Session *FrontendSession
	Route   string
	// Msg is the request's body; a before filter may read it, an after
	// filter or an error handler may not (it is the reader's buffer).
	Msg    json.RawMessage
	Notify bool
	Start  time.Time
}

// BeforeFilter runs before a request is handled; an error refuses it,
// answering the client with the error (a *Error keeps its code; any other
// is a 500). Pomelo's app.before.
type BeforeFilter func(ctx context.Context, r *FilterRequest) error

// AfterFilter runs once a request is answered, with the answer or the
// error; it cannot change them. Pomelo's app.after.
type AfterFilter func(ctx context.Context, r *FilterRequest, res any, err error)

// ErrorHandler turns a failed request's error into what the client gets:
// a response instead, or another error. Pomelo's errorHandler.
type ErrorHandler func(ctx context.Context, r *FilterRequest, err error) (any, error)

// Error is a failure with the code the client gets.
type Error = connector.Error

// filter is one link of a chain: what it does before the request is
// handled (nil: nothing), and after it was answered (nil: nothing).
type filter struct {
	before func(fc *filterCall) error
	after  func(fc *filterCall, res any, err error)
}

// chain is the filters that requests for one server type pass on a
// frontend: the topology's (top level, then the type's), then the game's
// Go filters (for every type, then the type's); and the error handlers
// that answer failures, in the same order.
type chain struct {
	filters  []filter
	onError  []func(fc *filterCall, err error) (any, error)
	msg      bool                        // an expression reads msg: decode the body once, before
	starters []func(ctx context.Context) // what runs beside the requests (compileFilters' chains)
}

// filterCall is one request on its way through a chain.
type filterCall struct {
	FilterRequest
	ctx  context.Context
	sv   *Services
	cs   *connector.Session
	msg  map[string]any // decoded when an expression reads it
	run  *exprRun       // the expressions' view of the session
	undo []func()       // what the before filters hold until the answer
}

// expr is the expressions' view of the request, made at first use, for
// an expression whose log() writes to log.
func (fc *filterCall) expr(log *slog.Logger) *exprRun {
	if fc.run == nil {
		fc.run = fc.sv.frontendRun(fc.ctx, fc.cs, fc.Session.sessions)
	}
	fc.run.call.Log = log
	return fc.run
}

// filters are a frontend's chains, by the server type of the route.
type filters struct {
	byType   map[string]*chain
	global   *chain // for a route whose type the topology does not declare
	starters []func(ctx context.Context)
	none     bool // no request passes any filter: handlers are registered as they are
}

func (f *filters) of(route string) *chain {
	typ, _, _ := strings.Cut(route, ".")
	if c, ok := f.byType[typ]; ok {
		return c
	}
	return f.global
}

// start starts what the filters run beside the requests (toobusy's lag
// probe) for the frontend's life.
func (f *filters) start(ctx context.Context) {
	if f == nil {
		return
	}
	for _, s := range f.starters {
		s(ctx)
	}
}

// begin runs the before filters; an error is the request's answer.
func (c *chain) begin(ctx context.Context, sv *Services, cs *connector.Session, sessions *connector.Sessions, r *connector.Request) (*filterCall, error) {
	fc := &filterCall{
		FilterRequest: FilterRequest{Session: &FrontendSession{Session: cs, sv: sv, sessions: sessions}, Route: r.Route, Msg: r.Body, Notify: r.Notify, Start: time.Now()},
		ctx:           ctx, sv: sv, cs: cs,
	}
	if c.msg {
		fc.msg = decodeObject(r.Body)
	}
	for _, f := range c.filters {
		if f.before == nil {
			continue
		}
		if err := f.before(fc); err != nil {
			return fc, err
		}
	}
	return fc, nil
}

// end answers the request: the after filters see what happened, then the
// error handlers turn a failure into the client's answer, and what the
// before filters hold is let go.
func (c *chain) end(fc *filterCall, res any, err error) (any, error) {
	// The body was the reader's; the session may have changed meanwhile.
	fc.Msg, fc.run = nil, nil
	for _, f := range c.filters {
		if f.after != nil {
			f.after(fc, res, err)
		}
	}
	for _, h := range c.onError {
		if err == nil {
			break
		}
		res, err = h(fc, err)
	}
	for i := len(fc.undo) - 1; i >= 0; i-- {
		fc.undo[i]()
	}
	return res, err
}

// sync is h, a handler answered on the reader's goroutine, behind the
// chain of its route.
func (f *filters) sync(sv *Services, sessions *connector.Sessions, route string, h connector.HandlerFunc) connector.HandlerFunc {
	c := f.of(route)
	if len(c.filters)+len(c.onError) == 0 {
		return h
	}
	return func(ctx context.Context, cs *connector.Session, r *connector.Request) (any, error) {
		fc, err := c.begin(ctx, sv, cs, sessions, r)
		var res any
		if err == nil {
			res, err = h(fc.ctx, cs, r)
		}
		return c.end(fc, res, err)
	}
}

// async is h, the forwarding of other types' requests, behind the chain
// of each request's route.
func (f *filters) async(sv *Services, sessions *connector.Sessions, h connector.AsyncHandlerFunc) connector.AsyncHandlerFunc {
	if f.none {
		return h
	}
	return func(ctx context.Context, cs *connector.Session, r *connector.Request, reply func(any, error)) {
		c := f.of(r.Route)
		if len(c.filters)+len(c.onError) == 0 {
			h(ctx, cs, r, reply)
			return
		}
		fc, err := c.begin(ctx, sv, cs, sessions, r)
		if err != nil {
			reply(c.end(fc, nil, err))
			return
		}
		h(fc.ctx, cs, r, func(res any, err error) { reply(c.end(fc, res, err)) })
	}
}

// buildFilters makes a frontend's chains from the topology and the game's
// Go filters. The top level's filters are one state for every type (one
// serial queue per session, one count of requests in flight), so each
// type's chain holds the same ones.
func buildFilters(t *topology.Topology, app *App) (*filters, error) {
	top, err := compileFilters(t.Filters, "filters")
	if err != nil {
		return nil, err
	}
	forAll := app.goChain("")
	f := &filters{byType: map[string]*chain{}, global: join(top, forAll), starters: top.starters}
	for _, st := range t.Types {
		typed, err := compileFilters(st.Filters, "servers."+st.Name+".filters")
		if err != nil {
			return nil, err
		}
		f.byType[st.Name] = join(top, typed, forAll, app.goChain(st.Name))
		f.starters = append(f.starters, typed.starters...)
	}
	f.none = true
	for _, c := range append([]*chain{f.global}, slices.Collect(maps.Values(f.byType))...) {
		f.none = f.none && len(c.filters)+len(c.onError) == 0
	}
	return f, nil
}

// join is the chains one after the other.
func join(cs ...*chain) *chain {
	out := &chain{}
	for _, c := range cs {
		out.filters = append(out.filters, c.filters...)
		out.onError = append(out.onError, c.onError...)
		out.msg = out.msg || c.msg
	}
	return out
}

// compileFilters compiles one filters: mapping of the topology.
func compileFilters(fs topology.Filters, path string) (*chain, error) {
	c := &chain{}
	for i, spec := range fs.Before {
		if err := c.add(spec, fmt.Sprintf("%s.before[%d]", path, i), true); err != nil {
			return nil, err
		}
	}
	for i, spec := range fs.After {
		if err := c.add(spec, fmt.Sprintf("%s.after[%d]", path, i), false); err != nil {
			return nil, err
		}
	}
	sc, err := compileScript(fs.OnError, path+".onError", scripting.CompileErrorHandler)
	if err != nil {
		return nil, err
	}
	if sc != nil {
		c.msg = c.msg || sc.prog.Reads("msg")
		c.onError = append(c.onError, exprOnError(sc))
	}
	return c, nil
}
