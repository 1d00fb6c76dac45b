package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Defaults of the built-in filters, Pomelo's own.
const (
	defaultSerialTimeout = 3 * time.Second // pomelo.filters.serial()
	defaultTimeout       = 3 * time.Second // pomelo.filters.timeout()
	defaultMaxLag        = 70 * time.Millisecond
	// CodeBusy answers a request toobusy refused.
	CodeBusy = 503
	// CodeBlacklisted answers a request of a blacklisted user.
	CodeBlacklisted = 403
)

// add appends the filter spec declares. A built-in does what it does
// wherever it is listed (serial holds a session's next request until the
// answer, time measures from arrival to answer); an expression under
// before: is a predicate, under after: it runs once the request is
// answered.
func (c *chain) add(spec topology.Filter, path string, before bool) error {
	if !spec.Expr.IsZero() {
		if before {
			sc, err := compileScript(spec.Expr, path+".expr", scripting.CompileFilter)
			if err != nil {
				return err
			}
			c.msg = c.msg || sc.prog.Reads("msg")
			c.filters = append(c.filters, exprBefore(sc, spec.Code, spec.Message))
			return nil
		}
		sc, err := compileScript(spec.Expr, path+".expr", scripting.CompileAfter)
		if err != nil {
			return err
		}
		c.msg = c.msg || sc.prog.Reads("msg")
		c.filters = append(c.filters, exprAfter(sc))
		return nil
	}
	switch spec.Name {
	case "serial":
		c.filters = append(c.filters, serialFilter(cmp.Or(spec.Timeout.D(), defaultSerialTimeout)))
	case "time":
		c.filters = append(c.filters, timeFilter())
	case "timeout":
		c.filters = append(c.filters, timeoutFilter(cmp.Or(spec.Timeout.D(), defaultTimeout)))
	case "toobusy":
		maxLag := spec.MaxLag.D()
		if maxLag == 0 && spec.MaxInflight == 0 {
			maxLag = defaultMaxLag
		}
		b := &busy{maxInflight: int64(spec.MaxInflight), maxLag: maxLag}
		c.filters = append(c.filters, filter{before: b.before})
		if maxLag > 0 {
			c.starters = append(c.starters, b.probe)
		}
	case "blacklist":
		c.filters = append(c.filters, blacklistFilter(spec.UIDs))
	default:
		// validate refuses it; a topology built by hand may not have been.
		return &topology.Error{Pos: spec.At.Of("name"), Path: path + ".name", Msg: fmt.Sprintf("unknown filter %q", spec.Name)}
	}
	return nil
}

// serialFilter handles a session's requests one at a time, in the order
// they came, across the hop to a backend: a request waits for the answer
// to the one before it, or for timeout, after which it goes on (and the
// wait is logged), so that one stuck request does not stop a player. It
// waits on the reader's goroutine: the client's next messages are not
// read meanwhile.
func serialFilter(timeout time.Duration) filter {
	var mu sync.Mutex
	last := map[*connector.Session]chan struct{}{} // closed at the answer
	return filter{before: func(fc *filterCall) error {
		done := make(chan struct{})
		mu.Lock()
		prev := last[fc.cs]
		last[fc.cs] = done
		mu.Unlock()
		fc.undo = append(fc.undo, func() {
			close(done)
			mu.Lock()
			if last[fc.cs] == done {
				delete(last, fc.cs)
			}
			mu.Unlock()
		})
		if prev == nil {
			return nil
		}
		select {
		case <-prev:
			return nil
		default:
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-prev:
		case <-t.C:
			fc.sv.log.Warn("serial: the session's request before this one was not answered in time; this one goes on", "route", fc.Route, "session", fc.cs.ID(), "timeout", timeout)
		case <-fc.ctx.Done():
			return fc.ctx.Err()
		}
		return nil
	}}
}

// timeFilter logs each request's route and time, as Pomelo's time filter.
func timeFilter() filter {
	return filter{after: func(fc *filterCall, _ any, err error) {
		code := 200
		if err != nil {
			code = errInfo(err).Code
		}
		fc.sv.log.Info("request", "route", fc.Route, "ms", float64(time.Since(fc.Start).Microseconds())/1000, "code", code)
	}}
}

// timeoutFilter bounds a request's time: its handling (a backend's
// answer included) is given up at timeout, the client answered 500, and
// a request that took longer is logged.
func timeoutFilter(timeout time.Duration) filter {
	return filter{
		before: func(fc *filterCall) error {
			ctx, cancel := context.WithTimeout(fc.ctx, timeout)
			fc.ctx = ctx
			fc.undo = append(fc.undo, cancel)
			return nil
		},
		after: func(fc *filterCall, _ any, err error) {
			// A backend's copy of the deadline may pass a hair before
			// this one: its answer says so.
			if took := time.Since(fc.Start); took > timeout || errors.Is(err, context.DeadlineExceeded) {
				fc.sv.log.Warn("timeout: a request took longer than its bound", "route", fc.Route, "took", took, "timeout", timeout)
			}
		},
	}
}

// busy is toobusy: it refuses requests while maxInflight are in flight on
// this frontend (the backends' time included), or while goroutines wake
// maxLag late (the process is short of CPU: Pomelo's event-loop lag).
type busy struct {
	maxInflight int64
	maxLag      time.Duration
	inflight    atomic.Int64
	lag         atomic.Int64 // the last lag measured, in nanoseconds
}

func (b *busy) before(fc *filterCall) error {
	if b.maxLag > 0 {
		if lag := time.Duration(b.lag.Load()); lag > b.maxLag {
			return &Error{Code: CodeBusy, Msg: fmt.Sprintf("the server is too busy (it lags %s, above %s); try again", lag.Round(time.Millisecond), b.maxLag)}
		}
	}
	if n := b.inflight.Add(1); b.maxInflight > 0 && n > b.maxInflight {
		b.inflight.Add(-1)
		return &Error{Code: CodeBusy, Msg: fmt.Sprintf("the server is too busy (%d requests in flight); try again", b.maxInflight)}
	}
	fc.undo = append(fc.undo, func() { b.inflight.Add(-1) })
	return nil
}

// lagTick is how often toobusy measures how late a sleeping goroutine
// wakes.
const lagTick = 50 * time.Millisecond

func (b *busy) probe(ctx context.Context) {
	go func() {
		t := time.NewTimer(lagTick)
		defer t.Stop()
		for {
			due := time.Now().Add(lagTick)
			t.Reset(lagTick)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				b.lag.Store(int64(max(time.Since(due), 0)))
			}
		}
	}()
}

// blacklistFilter refuses the requests of the listed users.
func blacklistFilter(uids []string) filter {
	list := make(map[string]bool, len(uids))
	for _, u := range uids {
		list[u] = true
	}
	return filter{before: func(fc *filterCall) error {
		if uid := fc.cs.UID(); uid != "" && list[uid] {
			return &Error{Code: CodeBlacklisted, Msg: "refused: this user is blacklisted"}
		}
		return nil
	}}
}

// exprBefore is an expression filter: the request goes on when it gives
// true, and is refused with code and message when it gives false.
func exprBefore(sc *script[scripting.FilterEnv], code int, message string) filter {
	return filter{before: func(fc *filterCall) error {
		r := fc.expr(sc.logger(fc.sv.log))
		env := scripting.FilterEnv{Ctx: &r.call, Msg: fc.msg, Route: fc.Route, Session: &r.live, Server: fc.sv.self, Channel: scripting.ChannelFunctions(), GlobalChannel: scripting.GlobalChannelFunctions()}
		out, err := sc.run(fc.sv.log, fc.Route, &env)
		if err != nil {
			return err
		}
		switch ok, isBool := out.(bool); {
		case !isBool:
			fc.sv.log.Error("a filter gave something other than true or false", "route", fc.Route, "at", sc.at.Pos.String(), "key", sc.path, "gave", fmt.Sprintf("%T %v", out, out))
			return &Error{Code: 500, Msg: fmt.Sprintf("%s: a filter gave %T, not true or false", fc.Route, out)}
		case !ok:
			return &Error{Code: cmp.Or(code, 500), Msg: cmp.Or(message, fc.Route+" was refused by a filter")}
		}
		return nil
	}}
}

// exprAfter is an expression after filter, run for what it does; an
// error in it is logged.
func exprAfter(sc *script[scripting.AfterEnv]) filter {
	reply := sc.prog.Reads("reply")
	return filter{after: func(fc *filterCall, res any, err error) {
		r := fc.expr(sc.logger(fc.sv.log))
		env := scripting.AfterEnv{Ctx: &r.call, Msg: fc.msg, Route: fc.Route, Session: &r.live, Server: fc.sv.self, Channel: scripting.ChannelFunctions(), GlobalChannel: scripting.GlobalChannelFunctions(),
			Ms: float64(time.Since(fc.Start).Microseconds()) / 1000}
		if err != nil {
			info := errInfo(err)
			env.Err = &info
		} else if reply {
			env.Reply = asValue(res)
		}
		_, _ = sc.run(fc.sv.log, fc.Route, &env)
	}}
}

// exprOnError is an expression error handler: what it gives is the
// client's answer instead of the error; nil keeps the error.
func exprOnError(sc *script[scripting.ErrorEnv]) func(fc *filterCall, err error) (any, error) {
	return func(fc *filterCall, err error) (any, error) {
		r := fc.expr(sc.logger(fc.sv.log))
		info := errInfo(err)
		env := scripting.ErrorEnv{Ctx: &r.call, Msg: fc.msg, Route: fc.Route, Session: &r.live, Server: fc.sv.self, Channel: scripting.ChannelFunctions(), GlobalChannel: scripting.GlobalChannelFunctions(), Err: &info}
		out, herr := sc.run(fc.sv.log, fc.Route, &env)
		switch {
		case herr != nil:
			return nil, herr
		case out == nil:
			return nil, err
		}
		return out, nil
	}
}

// errInfo is err as the client gets it.
func errInfo(err error) scripting.ErrInfo {
	var ce *connector.Error
	if errors.As(err, &ce) {
		return scripting.ErrInfo{Code: ce.Code, Msg: ce.Msg}
	}
	return scripting.ErrInfo{Code: 500, Msg: err.Error()}
}

// asValue is a handler's result as an expression reads it: a backend's
// answer, which is JSON, decoded.
func asValue(res any) any {
	if raw, ok := res.(json.RawMessage); ok {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			return v
		}
		return nil
	}
	return res
}
