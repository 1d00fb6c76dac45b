package scripting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fakeHost records what expressions do to the cluster.
type fakeHost struct {
	did   []string
	chans map[string]map[string]string // channel → uid → frontend
	fail  error                        // what Call gives
}

func (h *fakeHost) Call(_ context.Context, id, route string, by Session, args any) (any, error) {
	h.did = append(h.did, fmt.Sprintf("call %s %s by %q %v", id, route, by.UID, args))
	if h.fail != nil {
		return nil, h.fail
	}
	return map[string]any{"ok": true}, nil
}

func (h *fakeHost) Push(_ context.Context, route string, msg any, targets []Target) error {
	h.did = append(h.did, fmt.Sprintf("push %s %v %v", route, msg, targets))
	return nil
}

func (h *fakeHost) Channels() Channels { return (*fakeChannels)(h) }

func (h *fakeHost) GlobalChannels() GlobalChannels { return nil }

type fakeChannels fakeHost

func (c *fakeChannels) Add(name, uid, fe string) bool {
	if c.chans == nil {
		c.chans = map[string]map[string]string{}
	}
	if c.chans[name] == nil {
		c.chans[name] = map[string]string{}
	}
	_, was := c.chans[name][uid]
	c.chans[name][uid] = fe
	return !was
}
func (c *fakeChannels) Leave(name, uid string) { delete(c.chans[name], uid) }
func (c *fakeChannels) Members(name string) []string {
	var out []string
	for uid := range c.chans[name] {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}
func (c *fakeChannels) Member(name, uid string) (string, bool) {
	fe, ok := c.chans[name][uid]
	return fe, ok
}
func (c *fakeChannels) Push(_ context.Context, name, route string, msg any, uids []string) error {
	c.did = append(c.did, fmt.Sprintf("channel push %s %s %v %v", name, route, msg, uids))
	return nil
}
func (c *fakeChannels) Destroy(name string) { delete(c.chans, name) }

// fakeSession is a live session.
type fakeSession struct {
	uid      string
	settings map[string]any
	kicked   string
}

func (s *fakeSession) Bind(_ context.Context, uid string) error {
	if s.uid != "" {
		return errors.New("already bound")
	}
	s.uid = uid
	return nil
}
func (s *fakeSession) Unbind(context.Context) error { s.uid = ""; return nil }
func (s *fakeSession) Set(_ context.Context, k string, v any) error {
	if s.settings == nil {
		s.settings = map[string]any{}
	}
	s.settings[k] = v
	return nil
}
func (s *fakeSession) Kick(_ context.Context, reason string) error { s.kicked = reason; return nil }
func (s *fakeSession) Bound(uid string) (bool, error)              { return uid == "taken*lobby", nil }

func handlerEnv(h *fakeHost, s *fakeSession, msg map[string]any) *HandlerEnv {
	live := NewLiveSession(NewSession(1, s.uid, "connector-server-1", map[string]any{}))
	return &HandlerEnv{
		Ctx:     &Call{Context: context.Background(), Host: h, Session: s, Live: &live},
		Msg:     msg,
		Route:   "connector.entryHandler.enter",
		Session: &live,
		Server:  Server{ID: "connector-server-1", Type: "connector"},
		Channel: ChannelFunctions(),
	}
}

// chatEnter is chatofpomelo's connector.entryHandler.enter.
const chatEnter = `
let uid = (msg.username ?? "") + "*" + (msg.rid ?? "");
if msg.username == nil || msg.rid == nil || session.bound(uid) {
  {code: 500, error: true}
} else {
  session.bind(uid);
  session.set("rid", msg.rid);
  {users: rpc("chat.chatRemote.add", {uid: uid, sid: server.id, name: msg.rid}).ok}
}`

func TestHandlerActs(t *testing.T) {
	p, err := CompileHandler(chatEnter)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Reads("msg") {
		t.Error("the handler reads msg")
	}
	h, s := &fakeHost{}, &fakeSession{settings: map[string]any{}}
	out, err := p.Run(handlerEnv(h, s, map[string]any{"username": "alice", "rid": "lobby"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out); got != "map[users:true]" {
		t.Errorf("the answer: %s", got)
	}
	if s.uid != "alice*lobby" || s.settings["rid"] != "lobby" {
		t.Errorf("the session: %+v", s)
	}
	// rpc routes for the session as the handler left it: bound.
	if want := `call  chat.chatRemote.add by "alice*lobby" map[name:lobby sid:connector-server-1 uid:alice*lobby]`; len(h.did) != 1 || h.did[0] != want {
		t.Errorf("did %q, want %q", h.did, want)
	}
	// Taken: refused without acting.
	h, s = &fakeHost{}, &fakeSession{settings: map[string]any{}}
	out, err = p.Run(handlerEnv(h, s, map[string]any{"username": "taken", "rid": "lobby"}))
	if err != nil || fmt.Sprint(out) != "map[code:500 error:true]" || len(h.did) != 0 || s.uid != "" {
		t.Errorf("a taken name: %v %v, did %q, uid %q", out, err, h.did, s.uid)
	}
}

func TestRemoteAndChannels(t *testing.T) {
	add, err := CompileRemote(`channel.push(args.name, "onAdd", {user: split(args.uid, "*")[0]}); channel.add(args.name, args.uid, args.sid); map(channel.members(args.name), split(#, "*")[0])`)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{}
	env := &RemoteEnv{Ctx: &Call{Context: context.Background(), Host: h}, Channel: ChannelFunctions()}
	for _, uid := range []string{"bob*lobby", "alice*lobby"} {
		env.Args = map[string]any{"uid": uid, "sid": "connector-server-2", "name": "lobby"}
		out, err := add.Run(env)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(out)
	}
	if got := h.Channels().Members("lobby"); !slices.Equal(got, []string{"alice*lobby", "bob*lobby"}) {
		t.Errorf("members: %v", got)
	}
	one, err := CompileRemote(`channel.push("lobby", "onChat", {msg: "hi"}, [args.to]); channel.member("lobby", args.to)`)
	if err != nil {
		t.Fatal(err)
	}
	env.Args = map[string]any{"to": "bob*lobby"}
	if out, err := one.Run(env); err != nil || out != "connector-server-2" {
		t.Errorf("member: %v %v", out, err)
	}
	if last := h.did[len(h.did)-1]; last != "channel push lobby onChat map[msg:hi] [bob*lobby]" {
		t.Errorf("push to one: %s", last)
	}
}

func TestErrorGivesAFailure(t *testing.T) {
	p, err := CompileFilter(`session.uid != "" || error(401, "log in first")`)
	if err != nil {
		t.Fatal(err)
	}
	live := NewLiveSession(Session{})
	env := &FilterEnv{Ctx: &Call{Context: context.Background(), Host: &fakeHost{}}, Session: &live}
	_, err = p.Run(env)
	var f *Failure
	if !errors.As(err, &f) || f.Code != 401 || f.Msg != "log in first" {
		t.Errorf("got %v, want the 401 failure", err)
	}
	env.Session.UID = "alice"
	if out, err := p.Run(env); out != true || err != nil {
		t.Errorf("a bound session: %v %v", out, err)
	}
}

// A failing call keeps its error under the expression's: the runtime
// finds its code.
func TestRunErrorsKeepTheirCause(t *testing.T) {
	p, err := CompileHandler(`let a = 1;
rpc("chat.chatRemote.add", msg)`)
	if err != nil {
		t.Fatal(err)
	}
	cause := &Failure{Code: 503, Msg: "chat-server-1 is restarting"}
	_, err = p.Run(handlerEnv(&fakeHost{fail: fmt.Errorf("wrapped: %w", cause)}, &fakeSession{}, nil))
	var f *Failure
	if !errors.As(err, &f) || f.Code != 503 {
		t.Errorf("got %v, want the 503 inside", err)
	}
	p, _ = CompileHandler("let n = 0;\n10 / n > 1 ? msg.a.b : 0")
	_, err = p.Run(handlerEnv(&fakeHost{}, &fakeSession{}, nil))
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 {
		t.Errorf("got %#v, want an *Error on line 2", err)
	}
}

func TestCompileRejectsInEveryEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		comp func(string) error
		src  string
		want string
	}{
		{"handler typo", func(s string) error { _, err := CompileHandler(s); return err }, `sesion.bind("x")`, "unknown name sesion; did you mean session?"},
		{"handler arg type", func(s string) error { _, err := CompileHandler(s); return err }, `session.bind(1)`, "1:14: cannot use int as argument (type string) to call bind"},
		{"rpc arg count", func(s string) error { _, err := CompileHandler(s); return err }, `rpc("a.b.c")`, "not enough arguments"},
		{"remote has no session", func(s string) error { _, err := CompileRemote(s); return err }, `session.uid`, "unknown name session"},
		{"filter gives a map", func(s string) error { _, err := CompileFilter(s); return err }, `{a: 1}`, "a filter must give true (go on) or false (refuse); this one gives map"},
		{"a before filter has no reply", func(s string) error { _, err := CompileFilter(s); return err }, `err == nil`, "unknown name err"},
		{"peer hook", func(s string) error { _, err := CompilePeerHook(s); return err }, `log(peer.idd)`, "has no field idd; did you mean id?"},
		{"session hook cannot bind", func(s string) error { _, err := CompileSessionHook(s); return err }, `session.bind("x")`, "session has no method bind"},
		{"empty", func(s string) error { _, err := CompileHook(s); return err }, ` `, "the expression is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.comp(tc.src)
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an *Error with %q", err, tc.want)
			}
		})
	}
}

// Every call that acts gets the run's ctx, however deep it sits: inside
// built-ins, lists, maps and other calls.
func TestActingCallsCompileAnywhere(t *testing.T) {
	for _, src := range []string{
		`len(channel.members("x"))`,
		`count(channel.members("x"), # != "")`,
		`rpc("a.b.c", {n: len(channel.members("x"))})`,
		`[session.bind("u"), log("x")]`,
		`session.bind(channel.member("x", "u") ?? "")`,
		`filter(map(channel.members("x"), rpcTo(#, "a.b.c", nil)), # != nil)`,
		`let n = len(channel.members("x")); n > 0 ? push("onX", {n: n}, [{uid: "u", sid: "s"}]) : nil`,
		`channel.push("x", "onX", {}, channel.members("x"))`,
	} {
		if _, err := CompileHandler(src); err != nil {
			t.Errorf("CompileHandler(%q): %v", src, err)
		}
	}
}

// error() with a code clients take for success is an error of the
// expression's, not a refusal that would read as a success.
func TestErrorRefusesASuccessCode(t *testing.T) {
	for _, src := range []string{`error(200, "x")`, `error(0)`, `error(-1, "x")`} {
		p, err := CompileHandler(src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Run(handlerEnv(&fakeHost{}, &fakeSession{}, nil))
		var f *Failure
		var e *Error
		if errors.As(err, &f) || !errors.As(err, &e) || !strings.Contains(e.Msg, "clients take for success") {
			t.Errorf("%s: %v; want an *Error that says why", src, err)
		}
	}
}

// An expression cannot reach the run's ctx, whose Go methods would act
// without the functions' checks.
func TestCtxIsNotAnExpressionsName(t *testing.T) {
	for _, src := range []string{`ctx.Host.Channels().Add("", "", "")`, `$env.ctx`, `let ctx = 1; ctx + 1`, `session.bind(ctx)`} {
		_, err := CompileHandler(src)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, "ctx and $env are the runtime's names") {
			t.Errorf("CompileHandler(%q): %v; want ctx refused", src, err)
		}
	}
}

// A run's loops are bounded: a loop over a number the client sends fails
// after maxSteps instead of holding the server for hours; and repeat,
// which can ask for a terabyte at once, is not offered.
func TestRunsAreBounded(t *testing.T) {
	p, err := CompileHandler(`let r = 1..int(msg.n); sum(r, let a = #; count(r, # > a))`)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := p.Run(handlerEnv(&fakeHost{}, &fakeSession{}, map[string]any{"n": 100.0})); err != nil || out != 4950 {
		t.Errorf("n=100: %v %v", out, err)
	}
	_, err = p.Run(handlerEnv(&fakeHost{}, &fakeSession{}, map[string]any{"n": 100000.0}))
	if err == nil || !strings.Contains(err.Error(), "more than 1000000 loop steps") {
		t.Errorf("n=100000: %v; want the loop stopped", err)
	}
	if _, err := CompileHandler(`repeat(repeat("x", 999999), 999999)`); err == nil {
		t.Error("repeat compiles")
	}
}

func TestPassesMsg(t *testing.T) {
	for src, want := range map[string]bool{
		`{code: 200, msg: msg, server: server.id}`: true,
		`msg`:                           true,
		`[msg, msg]`:                    true,
		`rpc("a.b.c", msg)`:             true,
		`channel.push("r", "onX", msg)`: true,
		`{a: msg, b: msg.b}`:            false,
		`msg.a`:                         false,
		`log(msg)`:                      false,
		`msg == nil ? 1 : 2`:            false,
		`let m = msg; m`:                false,
		`{code: 200}`:                   false,
		`str(msg)`:                      false,
	} {
		p, err := CompileHandler(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.PassesMsg(); got != want {
			t.Errorf("PassesMsg(%s) = %v, want %v", src, got, want)
		}
	}
}

// A loop that doubles a string stops at a megabyte instead of asking for
// terabytes; + in loops still adds numbers and joins short strings.
func TestLoopsBuildBoundedStrings(t *testing.T) {
	for src, want := range map[string]any{
		`reduce(1..3, #acc + "x", "")`:        "xxx",
		`sum(map(1..3, # + 1))`:               9,
		`reduce(1..3, #acc + #, 0)`:           6,
		`join(map(["a", "b"], # + "!"), ",")`: "a!,b!",
		`reduce(1..2, #acc + 0.5, 1.0)`:       2.0,
		`map(1..2, msg.n + #)`:                []any{2.0, 3.0},
	} {
		p, err := CompileHandler(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		out, err := p.Run(handlerEnv(&fakeHost{}, &fakeSession{}, map[string]any{"n": 1.0}))
		if err != nil || fmt.Sprint(out) != fmt.Sprint(want) {
			t.Errorf("%s = %v %v, want %v", src, out, err, want)
		}
	}
	p, err := CompileHandler(`reduce(1..int(msg.n), #acc + #acc, "ab")`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(handlerEnv(&fakeHost{}, &fakeSession{}, map[string]any{"n": 40.0}))
	if err == nil || !strings.Contains(err.Error(), "a loop built a string past") {
		t.Errorf("a doubling string: %v; want it stopped", err)
	}
}
