package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wait is the bound on every wait in these tests.
const wait = 5 * time.Second

// TestMain fails the run if any goroutine of this package outlives the
// tests: every agent, link, writer and pump must have an end.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func leakedGoroutines() string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "engine/monitor.") && !strings.Contains(g, "monitor.TestMain") && !strings.Contains(g, "monitor.leakedGoroutines") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quietLogger drops everything: most tests assert on behaviour, not logs.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError + 1}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var testTokens = map[string]string{"connector": "conn-secret-7f3a", "chat": "chat-secret-91bc"}

func tokens(_, t string) (string, bool) {
	tok, ok := testTokens[t]
	return tok, ok
}

// testHub is a hub served over HTTP on loopback.
type testHub struct {
	*Hub
	srv  *httptest.Server
	addr string
	once sync.Once
}

func (th *testHub) url() string { return "ws://" + th.addr + "/monitor" }

// stop ends the hub and its HTTP server, as a master's death would.
func (th *testHub) stop() {
	th.once.Do(func() {
		th.Close()
		th.srv.Close()
	})
}

// startHub serves a hub on addr ("" for any free port on loopback).
func startHub(t testing.TB, cfg HubConfig, addr string) *testHub {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = tokens
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	h := NewHub(cfg)
	mux := http.NewServeMux()
	mux.Handle("/monitor", h)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	th := &testHub{Hub: h, srv: srv, addr: ln.Addr().String()}
	t.Cleanup(th.stop)
	return th
}

// dialHook counts dials, can refuse them, and can cut the live connection
// under the agent (as a crash or a pulled cable would).
type dialHook struct {
	mu      sync.Mutex
	conns   []net.Conn
	blocked bool
	dials   atomic.Int64
}

func (d *dialHook) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.blocked {
		return nil, errors.New("dial blocked by the test")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *dialHook) block(b bool) {
	d.mu.Lock()
	d.blocked = b
	d.mu.Unlock()
}

// cut closes every connection dialled so far, without a bye.
func (d *dialHook) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

// testAgent is an agent running in the background.
type testAgent struct {
	*Agent
	hook    *dialHook
	cancel  context.CancelFunc
	done    chan error
	mu      sync.Mutex
	seen    []string // ids in the last OnMembers call
	calls   [][]string
	changed chan struct{}
}

type agentOption func(*AgentConfig)

func withType(typ string) agentOption { return func(c *AgentConfig) { c.Register.Type = typ } }
func withToken(tok string) agentOption {
	return func(c *AgentConfig) { c.Register.Token = tok }
}
func withPid(pid int) agentOption { return func(c *AgentConfig) { c.Register.Pid = pid } }

// newTestAgent builds an agent for server id of type connector that dials
// url(); options adjust its config.
func newTestAgent(t testing.TB, id string, url func() string, opts ...agentOption) *testAgent {
	t.Helper()
	ta := &testAgent{hook: &dialHook{}, done: make(chan error, 1), changed: make(chan struct{}, 1)}
	cfg := AgentConfig{
		MasterURLs: func() []string { return []string{url()} },
		Register: RegisterInfo{
			ID: id, Type: "connector", Token: testTokens["connector"],
			Host: "127.0.0.1", Port: 4000, ClientHost: "127.0.0.1", ClientPort: 3000, Frontend: true,
		},
		OnMembers: func(all []Member) {
			ids := memberIDs(all)
			ta.mu.Lock()
			ta.seen = ids
			ta.calls = append(ta.calls, ids)
			ta.mu.Unlock()
			select {
			case ta.changed <- struct{}{}:
			default:
			}
		},
		Backoff:           Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		HeartbeatInterval: 50 * time.Millisecond,
		Dialer:            &websocket.Dialer{HandshakeTimeout: wait, NetDialContext: ta.hook.dial},
		Logger:            quietLogger(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	ta.Agent = NewAgent(cfg)
	return ta
}

// start runs the agent until stop (or the test's end).
func (ta *testAgent) start(t testing.TB) *testAgent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ta.cancel = cancel
	go func() { ta.done <- ta.Run(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

// stop cancels the agent and waits for Run to return, failing the test if
// it does not within the bound or returns an error.
func (ta *testAgent) stop(t testing.TB) {
	t.Helper()
	if ta.cancel == nil {
		return
	}
	ta.cancel()
	ta.cancel = nil
	select {
	case err := <-ta.done:
		if err != nil {
			t.Errorf("agent %s: Run returned %v, want nil after a stop", ta.cfg.Register.ID, err)
		}
	case <-time.After(wait):
		t.Errorf("agent %s: Run did not return within %s of its context ending", ta.cfg.Register.ID, wait)
	}
}

// waitSeen waits until the agent's OnMembers has been called with exactly
// ids.
func (ta *testAgent) waitSeen(t testing.TB, ids ...string) {
	t.Helper()
	slices.Sort(ids)
	deadline := time.After(wait)
	for {
		ta.mu.Lock()
		seen := ta.seen
		ta.mu.Unlock()
		if slices.Equal(seen, ids) {
			return
		}
		select {
		case <-ta.changed:
		case <-deadline:
			t.Fatalf("agent %s: OnMembers last saw %v; want %v within %s", ta.cfg.Register.ID, seen, ids, wait)
		}
	}
}

// eventually waits for cond, failing with what after the bound. For state
// with no event to wait on (an agent's Master, a dial count).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so within %s", what, wait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func memberIDs(ms []Member) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// waitEvent reads events until one matches, failing after the bound.
func waitEvent(t testing.TB, events <-chan Event, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("event stream closed while waiting for %s", what)
			}
			if match(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s within %s", what, wait)
		}
	}
}

func is(kind EventKind, id string) func(Event) bool {
	return func(e Event) bool { return e.Kind == kind && e.Member.ID == id }
}

// subscribe follows the hub's events until the test ends.
func subscribe(t testing.TB, h *Hub) <-chan Event {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, events := h.Subscribe(ctx)
	return events
}

// rawClient speaks the protocol by hand, for what an Agent would never send.
type rawClient struct {
	conn *websocket.Conn
}

func dialRaw(t testing.TB, url string) *rawClient {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{conn: conn}
}

func (c *rawClient) send(t testing.TB, msg string) {
	t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
}

// read returns the next frame, or the read error.
func (c *rawClient) read(t testing.TB) (frame, error) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	return readFrame(c.conn)
}

func registerJSON(id string, pid int, startTime uint64, token string) string {
	return fmt.Sprintf(`{"register":{"id":%q,"type":"connector","pid":%d,"startTime":%d,"host":"127.0.0.1","port":4000,"token":%q,"version":1}}`,
		id, pid, startTime, token)
}
