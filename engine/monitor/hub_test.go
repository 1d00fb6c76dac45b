package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/internal/testlog"
)

func TestRegisterAndWelcome(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1", Epoch: 3}, "")
	events := subscribe(t, h.Hub)

	a := newTestAgent(t, "connector-1", h.url, withPid(101)).start(t)
	a.waitSeen(t, "connector-1")
	e := waitEvent(t, events, "Joined for connector-1", is(Joined, "connector-1"))
	if e.Member.Pid != 101 || e.Member.Type != "connector" || e.Member.ClientPort != 3000 || !e.Member.Frontend {
		t.Errorf("Joined event member = %+v; want pid 101, type connector, client port 3000, frontend", e.Member)
	}

	// The second agent's very first view — its welcome — already holds the
	// first.
	b := newTestAgent(t, "chat-1", h.url, withType("chat"), withToken(testTokens["chat"]), withPid(102)).start(t)
	b.waitSeen(t, "chat-1", "connector-1")
	b.mu.Lock()
	first := b.calls[0]
	b.mu.Unlock()
	if want := []string{"chat-1", "connector-1"}; fmt.Sprint(first) != fmt.Sprint(want) {
		t.Errorf("chat-1's first OnMembers call = %v; want the welcome's %v", first, want)
	}
	a.waitSeen(t, "chat-1", "connector-1")

	if got := b.Master(); got != "master-1" {
		t.Errorf("Master() = %q; want master-1", got)
	}
	if got := b.Epoch(); got != 3 {
		t.Errorf("Epoch() = %d; want 3", got)
	}
	ms := h.Members()
	if got := memberIDs(ms); fmt.Sprint(got) != "[chat-1 connector-1]" {
		t.Fatalf("hub Members() = %v; want [chat-1 connector-1]", got)
	}
	for _, m := range ms {
		if m.ConnectedSince.IsZero() || m.Remote == "" || m.Host != "127.0.0.1" {
			t.Errorf("hub member %s = %+v; want connected-since, remote and host set", m.ID, m)
		}
	}
	// What agents see is the routing entry only.
	for _, m := range b.Members() {
		if !m.ConnectedSince.IsZero() || m.Remote != "" {
			t.Errorf("agent's view of %s = %+v; want no master-only fields", m.ID, m)
		}
	}
}

func TestRefusedTokens(t *testing.T) {
	tests := []struct {
		name       string
		typ, token string
		reason     string
	}{
		{"wrong token", "connector", "not-the-secret", `presented the wrong token for server type "connector"`},
		{"missing token", "connector", "", `presented no token for server type "connector"`},
		{"no token configured", "gate", "gate-secret-44d0", `no token for server`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hubLog, agentLog testlog.Buffer
			h := startHub(t, HubConfig{MasterID: "master-1", Logger: hubLog.Logger()}, "")
			a := newTestAgent(t, "bad-1", h.url, withType(tt.typ), withToken(tt.token), func(c *AgentConfig) {
				c.Logger = agentLog.Logger()
			})
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			err := a.Run(ctx)

			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("Run = %v; want a *RefusedError within %s", err, wait)
			}
			if refused.Code != RefusedToken || !strings.Contains(refused.Reason, tt.reason) || !refused.Fatal() {
				t.Errorf("refusal = code %q, reason %q; want code token and a reason with %q", refused.Code, refused.Reason, tt.reason)
			}
			if !strings.Contains(err.Error(), "check the token") {
				t.Errorf("Run's error %q does not tell the operator what to check", err)
			}
			if got := a.hook.dials.Load(); got != 1 {
				t.Errorf("the agent dialled %d times; a bad token must not be retried", got)
			}

			hl := hubLog.String()
			if !strings.Contains(hl, "refused a server") || !strings.Contains(hl, "id=bad-1") || !strings.Contains(hl, "remote=127.0.0.1:") {
				t.Errorf("hub log does not name the refused server and its address:\n%s", hl)
			}
			for _, secret := range []string{tt.token, testTokens["connector"], "gate-secret"} {
				if secret == "" {
					continue
				}
				if strings.Contains(hl, secret) || strings.Contains(agentLog.String(), secret) || strings.Contains(err.Error(), secret) {
					t.Errorf("a token (%q) appears in the logs or the error:\nhub: %s\nagent: %s\nerror: %v", secret, hl, agentLog.String(), err)
				}
			}
			if len(h.Members()) != 0 {
				t.Errorf("hub Members() = %v after a refusal; want none", memberIDs(h.Members()))
			}
		})
	}
}

func TestJoinLeaveAndDisconnect(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1"}, "")
	events := subscribe(t, h.Hub)

	a := newTestAgent(t, "a", h.url).start(t)
	b := newTestAgent(t, "b", h.url).start(t)
	c := newTestAgent(t, "c", h.url).start(t)
	for _, x := range []*testAgent{a, b, c} {
		x.waitSeen(t, "a", "b", "c")
	}

	// A graceful stop says bye: the others see b leave, and the hub reports
	// a deliberate Left.
	b.stop(t)
	e := waitEvent(t, events, "Left for b", is(Left, "b"))
	if !e.Bye || e.Reason != "stopping" || e.Fenced {
		t.Errorf("b's Left event: bye %v, reason %q, fenced %v; want bye, reason stopping, not fenced", e.Bye, e.Reason, e.Fenced)
	}
	a.waitSeen(t, "a", "c")
	c.waitSeen(t, "a", "c")

	// Cutting c's connection under it, with no bye, is a disconnect: Left
	// without bye, at once rather than after the heartbeat timeout. Dials
	// are refused meanwhile so that the others see c gone.
	c.hook.block(true)
	c.hook.cut()
	e = waitEvent(t, events, "Left for c", is(Left, "c"))
	if e.Bye {
		t.Errorf("c's Left event has bye set after a cut connection; reason %q", e.Reason)
	}
	if !strings.Contains(e.Reason, "without a bye") {
		t.Errorf("c's Left reason = %q; want it to say the link closed without a bye", e.Reason)
	}
	a.waitSeen(t, "a")

	// c comes back on its own.
	c.hook.block(false)
	waitEvent(t, events, "Joined for c", is(Joined, "c"))
	a.waitSeen(t, "a", "c")
	c.waitSeen(t, "a", "c")
}

func TestHungServerIsLost(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1", HeartbeatTimeout: 300 * time.Millisecond}, "")
	events := subscribe(t, h.Hub)

	var hang atomic.Bool
	release := make(chan struct{})
	var releaseOnce sync.Once
	unhang := func() { releaseOnce.Do(func() { hang.Store(false); close(release) }) }
	a := newTestAgent(t, "a", h.url).start(t)
	hung := newTestAgent(t, "hung", h.url, func(c *AgentConfig) {
		c.Stats = func() Stats {
			if hang.Load() {
				<-release
			}
			return Stats{}
		}
	}).start(t)
	// Registered after the agent's own cleanup, so it runs first: a failed
	// test must not leave the agent stuck in Stats.
	t.Cleanup(unhang)
	a.waitSeen(t, "a", "hung")
	hung.waitSeen(t, "a", "hung")

	// Its heartbeat loop stops while its connection stays open.
	hang.Store(true)
	e := waitEvent(t, events, "Lost for hung", is(Lost, "hung"))
	if e.Reason != "no heartbeat for 300ms" {
		t.Errorf("Lost reason = %q; want %q", e.Reason, "no heartbeat for 300ms")
	}
	a.waitSeen(t, "a")
	if got := memberIDs(h.Members()); fmt.Sprint(got) != "[a]" {
		t.Errorf("hub Members() = %v after Lost; want [a]", got)
	}

	// Once it recovers it registers again by itself.
	unhang()
	waitEvent(t, events, "Joined for hung", is(Joined, "hung"))
	a.waitSeen(t, "a", "hung")
}

func TestHeartbeatsCarryStats(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1"}, "")
	events := subscribe(t, h.Hub)
	want := Stats{CPU: 12.5, RSS: 48 << 20, Goroutines: 31, Connections: 1200, RequestsPerSecond: 950.5, Errors: 4}
	newTestAgent(t, "connector-1", h.url, func(c *AgentConfig) {
		c.Stats = func() Stats { return want }
	}).start(t)

	e := waitEvent(t, events, "a heartbeat from connector-1", is(Heartbeat, "connector-1"))
	if e.Member.Stats != want {
		t.Errorf("heartbeat event stats = %+v; want %+v", e.Member.Stats, want)
	}
	ms := h.Members()
	if len(ms) != 1 {
		t.Fatalf("hub Members() = %v; want one member", memberIDs(ms))
	}
	if ms[0].Stats != want {
		t.Errorf("Members()[0].Stats = %+v; want %+v", ms[0].Stats, want)
	}
	if ms[0].LastHeartbeat.IsZero() || ms[0].LastHeartbeat.Before(ms[0].ConnectedSince) {
		t.Errorf("LastHeartbeat = %v, ConnectedSince = %v; want a heartbeat after the connection", ms[0].LastHeartbeat, ms[0].ConnectedSince)
	}
}

func TestMasterRestart(t *testing.T) {
	for _, byTimer := range []bool{false, true} {
		name := "settled by the master"
		if byTimer {
			name = "settled by the timer"
		}
		t.Run(name, func(t *testing.T) { testMasterRestart(t, byTimer) })
	}
}

// testMasterRestart kills the master under three servers, lets one of them
// die while there is no master, and starts a new master on the same
// address: the two survivors re-register on their own, keep each other and
// the dead one in their routing tables while the new master settles (it
// cannot know yet who is alive), and drop the dead one when it has settled.
func testMasterRestart(t *testing.T, byTimer bool) {
	h1 := startHub(t, HubConfig{MasterID: "master-1"}, "")
	addr := h1.addr
	url := func() string { return "ws://" + addr + "/monitor" }
	ids := []string{"s1", "s2", "s3"}
	var agents []*testAgent
	for i, id := range ids {
		agents = append(agents, newTestAgent(t, id, url, withPid(1000+i)).start(t))
	}
	for _, a := range agents {
		a.waitSeen(t, ids...)
	}

	before := map[*testAgent]int{}
	for _, a := range agents {
		a.mu.Lock()
		before[a] = len(a.calls)
		a.mu.Unlock()
	}

	// The master dies: its links close and no one answers on its address.
	h1.stop()
	for _, a := range agents {
		eventually(t, "agent "+a.cfg.Register.ID+" noticed the master's death", func() bool { return a.Master() == "" })
		if got := memberIDs(a.Members()); fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("agent %s's view during the outage = %v; want the last known %v", a.cfg.Register.ID, got, ids)
		}
	}
	// s3 dies while there is no master to tell.
	agents[2].stop(t)
	survivors := agents[:2]

	// A new master on the same address: the agents find it by themselves.
	settle := time.Hour
	if byTimer {
		settle = 200 * time.Millisecond
	}
	h2 := startHub(t, HubConfig{MasterID: "master-1", Settle: settle}, addr)
	events := subscribe(t, h2.Hub)
	pids := map[string]int{}
	for len(pids) < len(survivors) {
		e := waitEvent(t, events, "Joined events at the new master", func(e Event) bool { return e.Kind == Joined })
		pids[e.Member.ID] = e.Member.Pid
	}
	for i, a := range survivors {
		if id := a.cfg.Register.ID; pids[id] != 1000+i {
			t.Errorf("new master saw %s with pid %d; want %d (the same process, to adopt)", id, pids[id], 1000+i)
		}
	}
	if got := memberIDs(h2.Members()); fmt.Sprint(got) != "[s1 s2]" {
		t.Errorf("new master's Members() = %v; want [s1 s2]", got)
	}
	for _, a := range survivors {
		eventually(t, "agent "+a.cfg.Register.ID+" registered with the new master", func() bool { return a.Master() == "master-1" })
	}
	if !byTimer {
		// Registered, with the master still settling: no one was dropped.
		for _, a := range survivors {
			if got := memberIDs(a.Members()); fmt.Sprint(got) != fmt.Sprint(ids) {
				t.Errorf("agent %s's view while the new master settles = %v; want %v kept", a.cfg.Register.ID, got, ids)
			}
		}
		h2.Settle()
	}
	for _, a := range survivors {
		a.waitSeen(t, "s1", "s2")
		a.mu.Lock()
		for _, call := range a.calls[before[a]:] {
			if len(call) < 2 {
				t.Errorf("agent %s's OnMembers saw %v at some point; a restarting master must never shrink a view below the live servers", a.cfg.Register.ID, call)
			}
		}
		a.mu.Unlock()
	}
}

func TestEpochFencing(t *testing.T) {
	var url atomic.Value
	h5 := startHub(t, HubConfig{MasterID: "master-e5", Epoch: 5}, "")
	url.Store(h5.url())
	a := newTestAgent(t, "s1", func() string { return url.Load().(string) }).start(t)
	a.waitSeen(t, "s1")
	if a.Epoch() != 5 {
		t.Fatalf("Epoch() = %d after joining an epoch-5 master; want 5", a.Epoch())
	}

	// A deposed master (epoch 4) is refused, again and again.
	h4 := startHub(t, HubConfig{MasterID: "master-e4", Epoch: 4}, "")
	events4 := subscribe(t, h4.Hub)
	url.Store(h4.url())
	h5.stop()
	for i := range 2 {
		e := waitEvent(t, events4, fmt.Sprintf("fenced Left %d at the epoch-4 master", i+1), is(Left, "s1"))
		if !e.Bye || !e.Fenced || !strings.Contains(e.Reason, "epoch 4 is lower than epoch 5") {
			t.Errorf("Left at the stale master: bye %v, fenced %v, reason %q; want a fenced bye naming both epochs", e.Bye, e.Fenced, e.Reason)
		}
	}
	if a.Master() == "master-e4" || a.Epoch() != 5 {
		t.Errorf("agent: Master() = %q, Epoch() = %d; want it never to take master-e4, and epoch 5 kept", a.Master(), a.Epoch())
	}

	// Another master at epoch 5, and then one at 7, are taken.
	for _, next := range []struct {
		id    string
		epoch uint64
	}{{"master-e5b", 5}, {"master-e7", 7}} {
		h := startHub(t, HubConfig{MasterID: next.id, Epoch: next.epoch}, "")
		events := subscribe(t, h.Hub)
		url.Store(h.url())
		h4.stop() // no-op the second time round
		h5.stop()
		waitEvent(t, events, "Joined at "+next.id, is(Joined, "s1"))
		eventually(t, "agent registered with "+next.id, func() bool { return a.Master() == next.id })
		if a.Epoch() != next.epoch {
			t.Errorf("agent's Epoch() = %d at %s; want %d", a.Epoch(), next.id, next.epoch)
		}
		h5 = h
	}
}

func TestCommands(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1"}, "")
	events := subscribe(t, h.Hub)
	var mu sync.Mutex
	var gotArgs string
	stopped := make(chan struct{})
	a := newTestAgent(t, "s1", h.url, func(c *AgentConfig) {
		c.OnCommand = func(ctx context.Context, name string, args json.RawMessage) error {
			switch name {
			case "echo":
				mu.Lock()
				gotArgs = string(args)
				mu.Unlock()
				return nil
			case "fail":
				return errors.New("disk full")
			case "block":
				<-ctx.Done()
				return ctx.Err()
			case "stop":
				// As a server would: start the stop, and answer.
				close(stopped)
				return nil
			}
			return fmt.Errorf("unknown command %q", name)
		}
	}).start(t)
	silent := newTestAgent(t, "s2", h.url).start(t)
	a.waitSeen(t, "s1", "s2")
	silent.waitSeen(t, "s1", "s2")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	if err := h.Command(ctx, "s1", "echo", map[string]int{"x": 1}); err != nil {
		t.Errorf("Command echo = %v; want nil", err)
	}
	mu.Lock()
	if gotArgs != `{"x":1}` {
		t.Errorf("OnCommand got args %s; want {\"x\":1}", gotArgs)
	}
	mu.Unlock()

	err := h.Command(ctx, "s1", "fail", nil)
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Message != "disk full" || ce.Server != "s1" || ce.Command != "fail" {
		t.Errorf("Command fail = %v; want a CommandError from s1 saying disk full", err)
	}

	err = h.Command(ctx, "s2", "echo", nil)
	if !errors.As(err, &ce) || ce.Message != "this server takes no commands" {
		t.Errorf("Command to a server without OnCommand = %v; want a CommandError saying it takes none", err)
	}

	if err := h.Command(ctx, "nobody", "echo", nil); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Command to an unknown server = %v; want ErrUnknownServer", err)
	}

	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	err = h.Command(short, "s1", "block", nil)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Command block with a short context = %v; want a deadline error", err)
	}

	// "stop": the server answers, then stops and says bye; the answer is
	// not lost to the stop.
	go func() {
		select {
		case <-stopped:
			a.cancel()
		case <-ctx.Done():
		}
	}()
	if err := h.Command(ctx, "s1", "stop", nil); err != nil {
		t.Errorf("Command stop = %v; want nil", err)
	}
	e := waitEvent(t, events, "Left for s1", is(Left, "s1"))
	if !e.Bye {
		t.Errorf("s1 left without a bye after a stop command: %q", e.Reason)
	}
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("Run after a stop command = %v; want nil", err)
		}
	case <-time.After(wait):
		t.Errorf("Run did not return after a stop command")
	}
	a.cancel = nil
}

func TestDuplicateIDs(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1", HeartbeatTimeout: wait}, "")
	events := subscribe(t, h.Hub)
	tok := testTokens["connector"]

	first := dialRaw(t, h.url())
	first.send(t, registerJSON("dup", 100, 555, tok))
	if f, err := first.read(t); err != nil || f.Welcome == nil {
		t.Fatalf("first registration: %+v, %v; want a welcome", f, err)
	}
	waitEvent(t, events, "Joined for dup", is(Joined, "dup"))

	// Another process claiming the id while the first link is alive.
	other := dialRaw(t, h.url())
	other.send(t, registerJSON("dup", 200, 777, tok))
	f, err := other.read(t)
	if err != nil || f.Refused == nil || f.Refused.Code != RefusedDuplicate || !strings.Contains(f.Refused.Reason, "pid 100") {
		t.Fatalf("second process with the same id: %+v, %v; want refused as a duplicate naming pid 100", f, err)
	}

	// The same process again (a reconnect the hub has not noticed the need
	// for): it replaces its old link, and to the cluster nothing happens.
	again := dialRaw(t, h.url())
	again.send(t, registerJSON("dup", 100, 555, tok))
	if f, err := again.read(t); err != nil || f.Welcome == nil {
		t.Fatalf("same process registering again: %+v, %v; want a welcome", f, err)
	}
	for {
		if _, err := first.read(t); err != nil {
			if !strings.Contains(err.Error(), "replaced") {
				t.Errorf("old link closed with %v; want it to say it was replaced", err)
			}
			break
		}
	}
	again.conn.Close()
	e := waitEvent(t, events, "Left for dup", func(e Event) bool { return e.Member.ID == "dup" })
	if e.Kind != Left || e.Member.Pid != 100 {
		t.Errorf("after the replacement, the next event for dup is %v with pid %d; want the replacing link's Left (no Left or Joined for the swap)", e.Kind, e.Member.Pid)
	}
}

func TestRegistrationRules(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1", RegisterTimeout: 100 * time.Millisecond}, "")
	tests := []struct {
		name string
		send string // "" sends nothing
		code string
		want string
	}{
		{"silent", "", RefusedInvalid, "no register message within 100ms"},
		{"heartbeat first", `{"heartbeat":{"stats":{}}}`, RefusedInvalid, "not a register message"},
		{"not JSON", `hello`, RefusedInvalid, "not valid JSON"},
		{"no id", `{"register":{"type":"connector","token":"x","version":1}}`, RefusedInvalid, "no server id"},
		{"other version", `{"register":{"id":"s","type":"connector","version":2}}`, RefusedVersion, "protocol version 2; this master speaks 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, h.url())
			if tt.send != "" {
				c.send(t, tt.send)
			}
			f, err := c.read(t)
			if err != nil || f.Refused == nil {
				t.Fatalf("answer = %+v, %v; want refused", f, err)
			}
			if f.Refused.Code != tt.code || !strings.Contains(f.Refused.Reason, tt.want) {
				t.Errorf("refused %q: %q; want code %q and a reason with %q", f.Refused.Code, f.Refused.Reason, tt.code, tt.want)
			}
		})
	}
}

func TestOneWarningPerOutage(t *testing.T) {
	// An address where nothing listens.
	h := startHub(t, HubConfig{}, "")
	url := h.url()
	h.stop()

	var log testlog.Buffer
	a := newTestAgent(t, "s1", func() string { return url }, func(c *AgentConfig) {
		c.Logger = log.Logger()
		c.Backoff = Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}
	}).start(t)
	eventually(t, "ten failed attempts", func() bool { return a.hook.dials.Load() >= 10 })
	a.stop(t)
	out := log.String()
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Errorf("%d warnings over %d failed attempts; want 1:\n%s", n, a.hook.dials.Load(), out)
	}
	if !strings.Contains(out, "no link to the master") {
		t.Errorf("the warning does not say the link is down:\n%s", out)
	}
}

func TestSubscriberCollapsesHeartbeats(t *testing.T) {
	s := newSubscriber()
	ev := func(k EventKind, id string, cpu float64) Event {
		return Event{Kind: k, Member: Member{ID: id, Stats: Stats{CPU: cpu}}}
	}
	for _, e := range []Event{
		ev(Joined, "a", 0), ev(Heartbeat, "a", 1), ev(Heartbeat, "b", 1),
		ev(Heartbeat, "a", 2), ev(Heartbeat, "a", 3), ev(Left, "a", 3), ev(Heartbeat, "a", 4),
	} {
		s.push(e)
	}
	want := []string{"joined a 0", "heartbeat a 3", "heartbeat b 1", "left a 3", "heartbeat a 4"}
	var got []string
	for {
		e, ok := s.pop()
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%v %s %g", e.Kind, e.Member.ID, e.Member.Stats.CPU))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("queued events = %q; want %q", got, want)
	}
}

func TestSubscribeEndsWithTheHub(t *testing.T) {
	h := startHub(t, HubConfig{}, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, events := h.Subscribe(ctx)
	h.stop()
	select {
	case _, ok := <-events:
		if ok {
			t.Errorf("got an event from a closed hub; want the channel closed")
		}
	case <-time.After(wait):
		t.Errorf("the event channel stayed open after Close")
	}
	if err := h.Command(ctx, "x", "echo", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Command on a closed hub = %v; want ErrClosed", err)
	}
}
