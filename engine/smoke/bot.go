package smoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/bench"
	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/protocol/protobuf"
	"github.com/pomeloctl/pomeloctl/scripting"
)

// pushBuffer is how many pushes a bot keeps for its push steps; past it
// the oldest unread are dropped (a bot in a busy room hears everyone).
const pushBuffer = 4096

// bot is one simulated player.
type bot struct {
	sc    *scenario
	env   scripting.SmokeEnv
	entry *entry

	c        *client.Client
	frontend string // the server it is connected to
	server   *protobuf.Protos
	clientP  *protobuf.Protos
	pushes   chan pushed
	kicked   atomic.Pointer[string] // the reason the server gave, if it kicked the bot
}

type pushed struct {
	route string
	body  []byte
}

// stepError is a step that failed: what the bot was doing, and why.
type stepError struct {
	step     string
	frontend string
	err      error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// requestError is a request or notify that failed: not sent, no reply in
// time, or a reply with an error code. It counts as failed even when the
// connection going was the cause.
type requestError struct{ err error }

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// replyError is the error a reply to route carries (Pomelo's {code: 500}
// and the like), as bench counts it: read from its JSON, or, for a
// protobuf reply, from what it decoded to.
func (b *bot) replyError(route string, resp []byte, decoded any) error {
	if b.server == nil || !b.server.Has(route) {
		return bench.ReplyError(resp)
	}
	body, err := json.Marshal(decoded)
	if err != nil {
		return nil
	}
	return bench.ReplyError(body)
}

func newBot(sc *scenario, e *entry, index int, run string) *bot {
	return &bot{sc: sc, entry: e, env: scripting.SmokeEnv{
		Bot:   scripting.SmokeBot{Name: fmt.Sprintf("%s-%s-%d", sc.spec.Name, run, index), Index: index, Scenario: sc.spec.Name, Run: run},
		State: map[string]any{},
	}}
}

// login connects the bot: through its gate, or to its frontend.
func (b *bot) login(ctx context.Context, st *stats) error {
	b.close()
	addr, err := b.entry.frontendFor(ctx, b, st)
	if err != nil {
		return &stepError{step: "login", err: err}
	}
	b.pushes = make(chan pushed, pushBuffer)
	pushes := b.pushes
	b.kicked.Store(nil)
	kicked := &b.kicked
	c, err := client.Dial(ctx, addr, client.Options{TCP: b.sc.spec.Transport == "tcp", Type: "pomeloctl-smoke", OnKick: func(reason string) { kicked.Store(&reason) }, OnPush: func(route string, body []byte) {
		select {
		case pushes <- pushed{route, append([]byte(nil), body...)}:
		default:
			st.droppedPush()
		}
	}})
	b.frontend = b.entry.serverAt(addr)
	if err != nil {
		return &stepError{step: "login", frontend: b.frontend, err: &requestError{fmt.Errorf("connect to %s (%s): %w", b.frontend, addr, err)}}
	}
	b.c = c
	b.server, b.clientP = protosOf(c.Sys())
	return nil
}

func (b *bot) close() {
	if b.c != nil {
		_ = b.c.Close()
		b.c = nil
	}
}

// lostWhy says why the connection went.
func (b *bot) lostWhy() string {
	if r := b.kicked.Load(); r != nil {
		return "kicked: " + *r
	}
	if b.c != nil && b.c.Err() != nil {
		return b.c.Err().Error()
	}
	return "the connection closed"
}

// connected reports whether the bot's connection is still up.
func (b *bot) connected() bool {
	if b.c == nil {
		return false
	}
	select {
	case <-b.c.Done():
		return false
	default:
		return true
	}
}

// play runs steps once; the first that fails ends the pass.
func (b *bot) play(ctx context.Context, steps []step, st *stats) error {
	for i := range steps {
		if err := b.do(ctx, &steps[i], st); err != nil {
			return &stepError{step: steps[i].title, frontend: b.frontend, err: err}
		}
	}
	return nil
}

func (b *bot) do(ctx context.Context, s *step, st *stats) error {
	b.env.Reply, b.env.Push, b.env.Msg = nil, nil, nil
	spec := s.spec
	timeout := spec.Timeout.D()
	switch spec.Kind() {
	case "sleep":
		select {
		case <-time.After(spec.Sleep.D()):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case "notify":
		body, err := b.body(s)
		if err != nil {
			return err
		}
		st.request()
		if err := b.c.Notify(spec.Notify, body); err != nil {
			return &requestError{err}
		}
		return b.save(s)
	case "request":
		body, err := b.body(s)
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		st.request()
		resp, err := b.c.Request(rctx, spec.Request, body)
		if err == nil {
			b.env.Reply, err = b.decode(spec.Request, resp)
		}
		if err == nil {
			err = b.replyError(spec.Request, resp, b.env.Reply)
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no reply within %s", timeout)
			}
			return &requestError{err}
		}
		if err := b.check(s, "the reply", string(resp)); err != nil {
			return err
		}
		return b.save(s)
	case "push":
		return b.awaitPush(ctx, s, timeout, st)
	}
	return fmt.Errorf("unknown step kind %q", spec.Kind())
}

// awaitPush waits for a push on the step's route that its expect accepts.
func (b *bot) awaitPush(ctx context.Context, s *step, timeout time.Duration, st *stats) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		select {
		case p := <-b.pushes:
			if p.route != s.spec.Push {
				continue
			}
			seen++
			v, err := b.decode(p.route, p.body)
			if err != nil {
				return err
			}
			b.env.Push = v
			if s.expect != nil {
				ok, err := b.truth(s, string(p.body))
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			st.push()
			return b.save(s)
		case <-deadline.C:
			if seen > 0 {
				return fmt.Errorf("no push on %s within %s that matches %s (%d on that route did not)", s.spec.Push, timeout, s.spec.Expect.Source, seen)
			}
			return fmt.Errorf("no push on %s within %s", s.spec.Push, timeout)
		case <-b.c.Done():
			return fmt.Errorf("the connection closed while waiting for a push on %s: %w", s.spec.Push, b.c.Err())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// body computes a request's or notify's message and encodes it as the
// server expects: protobuf where the client protos name the route.
func (b *bot) body(s *step) ([]byte, error) {
	var msg any = map[string]any{}
	if s.msg != nil {
		v, err := s.msg.Run(&b.env)
		if err != nil {
			return nil, fmt.Errorf("msg: %w", err)
		}
		msg = v
	}
	b.env.Msg = msg
	route := s.spec.Route()
	if b.clientP != nil && b.clientP.Has(route) {
		return b.clientP.Encode(route, msg)
	}
	return json.Marshal(msg)
}

// decode turns a reply's or push's body into a value for expressions.
func (b *bot) decode(route string, body []byte) (any, error) {
	if b.server != nil && b.server.Has(route) {
		m, err := b.server.Decode(route, body)
		if err != nil {
			return nil, fmt.Errorf("decode %s (protobuf): %w", route, err)
		}
		return m, nil
	}
	var v any
	if len(body) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", route, err)
	}
	return v, nil
}

// check runs the step's expect over what it got.
func (b *bot) check(s *step, what, got string) error {
	if s.expect == nil {
		return nil
	}
	ok, err := b.truth(s, got)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s %s does not match %s", what, truncate(got, 300), s.spec.Expect.Source)
	}
	return nil
}

func (b *bot) truth(s *step, got string) (bool, error) {
	v, err := s.expect.Run(&b.env)
	if err != nil {
		return false, fmt.Errorf("expect, over %s: %w", truncate(got, 300), err)
	}
	ok, isBool := v.(bool)
	if !isBool {
		return false, fmt.Errorf("expect gave %v, not true or false", v)
	}
	return ok, nil
}

func (b *bot) save(s *step) error {
	for _, sv := range s.save {
		v, err := sv.val.Run(&b.env)
		if err != nil {
			return fmt.Errorf("save.%s: %w", sv.key, err)
		}
		b.env.State[sv.key] = v
	}
	return nil
}

// protosOf parses the protos of a handshake that uses them.
func protosOf(sys client.HandshakeSys) (server, clientP *protobuf.Protos) {
	if !sys.UseProto || len(sys.Protos) == 0 {
		return nil, nil
	}
	var hs struct{ Server, Client json.RawMessage }
	if json.Unmarshal(sys.Protos, &hs) != nil {
		return nil, nil
	}
	if len(hs.Server) > 0 {
		server, _ = protobuf.ParseJSON(hs.Server)
	}
	if len(hs.Client) > 0 {
		clientP, _ = protobuf.ParseJSON(hs.Client)
	}
	return server, clientP
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// entryReply is a gate's answer: where to connect (Pomelo's queryEntry).
type entryReply struct {
	Code int
	Host string
	Port int
}

func (r entryReply) addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }
