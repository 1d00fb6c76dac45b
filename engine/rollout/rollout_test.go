package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

func TestPlan(t *testing.T) {
	servers := []Server{
		{ID: "gate-1", Group: "blue", Frontend: true},
		{ID: "connector-1", Group: "blue", Frontend: true},
		{ID: "chat-1", Group: "blue"},
		{ID: "chat-9"},
		{ID: "connector-2", Group: "green", Frontend: true},
		{ID: "chat-2", Group: "green"},
	}
	names := func(gs []Group) string {
		var out []string
		for _, g := range gs {
			out = append(out, g.Name+": "+strings.Join(g.IDs(), " "))
		}
		return strings.Join(out, "; ")
	}
	if got, want := names(Plan(servers, nil)), "blue: chat-1 gate-1 connector-1; green: chat-2 connector-2; (no group): chat-9"; got != want {
		t.Errorf("plan:\n got %s\nwant %s", got, want)
	}
	if got, want := names(Plan(servers, []string{"green", "blue"})), "green: chat-2 connector-2; blue: chat-1 gate-1 connector-1"; got != want {
		t.Errorf("plan in the order given:\n got %s\nwant %s", got, want)
	}
}

func TestCheckRefusesDrainingEveryFrontendOfAType(t *testing.T) {
	frontends := map[string][]string{"gate": {"gate-1"}, "connector": {"connector-1", "connector-2"}}
	ok := []Group{
		{Name: "blue", Servers: []Server{{ID: "connector-1", Type: "connector", Frontend: true}}},
		{Name: "green", Servers: []Server{{ID: "connector-2", Type: "connector", Frontend: true}}},
	}
	if err := Check(ok, frontends); err != nil {
		t.Errorf("one connector a group: %v", err)
	}
	bad := []Group{{Name: "blue", Servers: []Server{{ID: "gate-1", Type: "gate", Frontend: true}, {ID: "connector-1", Type: "connector", Frontend: true}, {ID: "connector-2", Type: "connector", Frontend: true}}}}
	err := Check(bad, frontends)
	if err == nil || !strings.Contains(err.Error(), "group blue would drain every connector (2 of 2) at once; group blue would drain every gate (1 of 1) at once: nothing was done") {
		t.Errorf("every frontend in one group: %v", err)
	}
}

// fakeCluster records what a rollout asks, in order; players are the
// connections each frontend keeps until it is kicked (or its drain ends
// them after drainFor); failing servers do not come back on the new
// version.
type fakeCluster struct {
	mu        sync.Mutex
	log       []string
	players   map[string]int
	failing   map[string]bool
	applied   map[string]bool
	drainedAt time.Time
	leaveIn   time.Duration // players leave by themselves this long into a drain; 0: they stay
	// crashing servers run on the new version, in a new process each
	// time they are looked at: a crash loop.
	crashing map[string]bool
	looks    map[string]int
}

func (f *fakeCluster) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

func (f *fakeCluster) Servers(context.Context) ([]admin.ServerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []admin.ServerStatus
	for _, id := range []string{"gate-1", "connector-1", "connector-2", "chat-1", "chat-2"} {
		n := f.players[id]
		if f.leaveIn > 0 && !f.drainedAt.IsZero() && time.Since(f.drainedAt) > f.leaveIn {
			n = 0
		}
		st := admin.ServerStatus{ID: id, State: "running", Connections: n, Program: "old", Config: "c0", Pid: 100}
		if f.applied[id] && !f.failing[id] {
			st.Program, st.Config = "new", "c1"
		}
		if f.applied[id] && f.crashing[id] {
			if f.looks == nil {
				f.looks = map[string]int{}
			}
			f.looks[id]++
			st.Pid += f.looks[id]
		}
		out = append(out, st)
	}
	return out, nil
}
func (f *fakeCluster) Drain(_ context.Context, ids ...string) error {
	f.note("drain %v", ids)
	f.mu.Lock()
	f.drainedAt = time.Now()
	f.mu.Unlock()
	return nil
}
func (f *fakeCluster) Undrain(_ context.Context, ids ...string) error {
	f.note("undrain %v", ids)
	return nil
}
func (f *fakeCluster) Apply(_ context.Context, r admin.ApplyRequest) error {
	f.note("apply %v", r.IDs)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range r.IDs {
		f.applied[id] = true
	}
	return nil
}
func (f *fakeCluster) Revert(_ context.Context, ids ...string) error {
	f.note("revert %v", ids)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		delete(f.applied, id)
	}
	return nil
}
func (f *fakeCluster) Restart(_ context.Context, id string) error {
	f.note("restart %s", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applied[id] && f.failing[id] {
		return errors.New("exited with code 3")
	}
	return nil
}
func (f *fakeCluster) KickPlayers(_ context.Context, reason string, ids ...string) error {
	f.note("kick %v: %s", ids, reason)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.players[id] = 0
	}
	return nil
}

var groups = []Group{
	{Name: "blue", Servers: []Server{{ID: "chat-1", Program: "new", Config: "c1"}, {ID: "connector-1", Frontend: true, Program: "new", Config: "c1"}}},
	{Name: "green", Servers: []Server{{ID: "chat-2", Program: "new", Config: "c1"}, {ID: "connector-2", Frontend: true, Program: "new", Config: "c1"}}},
}

// TestRunGroupByGroup: each group drains, waits for its players (kicked at
// the deadline), is replaced backends first, checked, and undrained before
// the next; the report and every saved state say so.
func TestRunGroupByGroup(t *testing.T) {
	f := &fakeCluster{players: map[string]int{"connector-1": 3, "connector-2": 2}, failing: map[string]bool{}, applied: map[string]bool{}, leaveIn: 50 * time.Millisecond}
	f.players["connector-1"] = 3
	var checked []string
	var saved []string
	r := Run(context.Background(), f, groups, Options{
		Drain: 300 * time.Millisecond,
		Check: func(_ context.Context, g Group) error { checked = append(checked, g.Name); return nil },
		Saved: func(r *Report) { saved = append(saved, r.State+"/"+r.Current+"/"+r.Step) },
	})
	want := []string{
		"drain [connector-1]", "apply [chat-1 connector-1]", "restart chat-1", "restart connector-1", "undrain [connector-1]",
		"drain [connector-2]", "apply [chat-2 connector-2]", "restart chat-2", "restart connector-2", "undrain [connector-2]",
	}
	if !slices.Equal(f.log, want) {
		t.Errorf("what it did:\n got %v\nwant %v", f.log, want)
	}
	if r.State != StateDone || len(r.Groups) != 2 || r.Groups[0].Outcome != OutcomeReplaced || r.Groups[0].Kicked != 0 {
		t.Errorf("report: %+v", r)
	}
	if !slices.Equal(checked, []string{"blue", "green"}) {
		t.Errorf("checked %v", checked)
	}
	if saved[0] != "running/blue/" || !slices.Contains(saved, "running/blue/drain") || !slices.Contains(saved, "running/green/check") || saved[len(saved)-1] != "done//" {
		t.Errorf("saved states: %v", saved)
	}

	// Players who stay are kicked at the deadline, by a frontend serving on.
	f = &fakeCluster{players: map[string]int{"connector-1": 3}, failing: map[string]bool{}, applied: map[string]bool{}}
	r = Run(context.Background(), f, groups[:1], Options{Drain: 200 * time.Millisecond})
	if r.Groups[0].Kicked != 3 || !slices.Contains(f.log, "kick [connector-1]: "+KickReason) || slices.Index(f.log, "kick [connector-1]: "+KickReason) > slices.Index(f.log, "restart connector-1") {
		t.Errorf("kicked %d; did %v", r.Groups[0].Kicked, f.log)
	}
	if d := r.Groups[0].DrainSeconds; d < 0.2 {
		t.Errorf("drained for %.2fs, want the whole 0.2s deadline", d)
	}
}

// TestRunRollsBack: a server that does not come back on the new version
// puts its group back, restarting only what the rollout restarted, leaves
// it undrained, and stops the rollout there.
func TestRunRollsBack(t *testing.T) {
	f := &fakeCluster{players: map[string]int{}, failing: map[string]bool{"chat-1": true}, applied: map[string]bool{}}
	r := Run(context.Background(), f, groups, Options{Drain: time.Second})
	want := []string{"drain [connector-1]", "apply [chat-1 connector-1]", "restart chat-1", "revert [chat-1 connector-1]", "restart chat-1", "undrain [connector-1]"}
	if !slices.Equal(f.log, want) {
		t.Errorf("what it did:\n got %v\nwant %v", f.log, want)
	}
	if r.State != StateRolledBack || len(r.Groups) != 1 || r.Groups[0].Outcome != OutcomeRolledBack ||
		r.Error != "group blue: chat-1 did not come back: exited with code 3" {
		t.Errorf("report: %+v", r)
	}

	// A build that crashes after it registers is caught while the group
	// must stay up.
	f = &fakeCluster{players: map[string]int{}, failing: map[string]bool{}, applied: map[string]bool{}, crashing: map[string]bool{"chat-1": true}}
	r = Run(context.Background(), f, groups, Options{Drain: time.Second, Stable: 50 * time.Millisecond})
	if r.State != StateRolledBack || !strings.Contains(r.Error, "chat-1 did not stay up for 50ms: it runs in another process") {
		t.Errorf("a crash loop: %+v", r)
	}

	// A check that fails rolls the whole group back.
	f = &fakeCluster{players: map[string]int{}, failing: map[string]bool{}, applied: map[string]bool{}}
	r = Run(context.Background(), f, groups, Options{Drain: time.Second, Check: func(context.Context, Group) error { return errors.New("scenario chat: 3 failed") }})
	if r.State != StateRolledBack || !strings.Contains(r.Error, "the check failed: scenario chat: 3 failed") ||
		!slices.Contains(f.log, "revert [chat-1 connector-1]") || strings.Count(strings.Join(f.log, ";"), "restart connector-1") != 2 {
		t.Errorf("report %+v; did %v", r, f.log)
	}
}
