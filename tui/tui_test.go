package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// clock is the tests' fixed now.
var clock = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

// fakeMaster is an admin API over a cluster of its own making: the real
// server and journal, a fake cluster behind them, so that the UI is
// tested through the real client and stream.
type fakeMaster struct {
	mu      sync.Mutex
	servers []admin.ServerStatus
	info    admin.MasterInfo
	journal *admin.Journal
	acted   []string
	addr    string
}

func newFakeMaster(t *testing.T, n int, ha bool) *fakeMaster {
	// Each size of cluster its own epoch: two fake masters are two terms.
	epoch := uint64(n)
	f := &fakeMaster{journal: admin.NewJournal(epoch, 4096, 4096)}
	f.info = admin.MasterInfo{Name: "chat", ID: "master-server-1", Pid: 700, Addr: "127.0.0.1:3005", Epoch: epoch, Ready: true, Started: clock.Add(-time.Hour)}
	if ha {
		f.info.Masters = []admin.MasterStatus{
			{ID: "master-server-1", Addr: "127.0.0.1:3005", Role: "leader", Session: "connected", Epoch: epoch},
			{ID: "master-server-2", Addr: "127.0.0.1:3006", Role: "standby", Session: "connected"},
		}
	}
	types := []string{"chat", "connector", "gate"}
	for i := range n {
		typ := types[i%3]
		s := admin.ServerStatus{ID: fmt.Sprintf("%s-server-%d", typ, i/3+1), Type: typ, State: "running", Pid: 1000 + i, Host: "127.0.0.1",
			Port: 6050 + i, CPU: float64(i%7) / 2, RSS: int64(10+i%5) << 20, Connections: i % 11, RequestsPerSecond: float64(i * 3 % 50),
			Started: clock.Add(-time.Duration(i+1) * time.Minute)}
		if typ != "chat" {
			s.Frontend, s.ClientPort = true, 3050+i
		}
		if i == 0 {
			s.CPUs = "0-1"
		}
		f.servers = append(f.servers, s)
	}
	users := []admin.User{{Name: "admin", Password: "s3cret", Level: admin.LevelAct}, {Name: "monitor", Password: "ro", Level: admin.LevelRead}}
	srv := admin.NewServer(users, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.ServeEvents(f.journal)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		f.journal.Close("the test ended")
		hs.CloseClientConnections() // a log followed is a request that never ends
		hs.Close()
	})
	f.addr = strings.TrimPrefix(hs.URL, "http://")
	return f
}

func (f *fakeMaster) Servers(context.Context) ([]admin.ServerStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]admin.ServerStatus(nil), f.servers...), nil
}
func (f *fakeMaster) Info(context.Context) (admin.MasterInfo, error) { return f.info, nil }

// set changes server id's state as the master would, with its event.
func (f *fakeMaster) set(id, to, reason string, pid int) {
	f.mu.Lock()
	var from, typ string
	for i := range f.servers {
		if f.servers[i].ID == id {
			from, typ = f.servers[i].State, f.servers[i].Type
			f.servers[i].State, f.servers[i].Pid = to, pid
		}
	}
	f.mu.Unlock()
	f.journal.Publish(admin.Event{Kind: admin.KindServer, At: clock, Server: &admin.ServerEvent{ID: id, Type: typ, From: from, To: to, Reason: reason, Pid: pid}})
}

func (f *fakeMaster) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acted = append(f.acted, s)
}

func (f *fakeMaster) Kill(_ context.Context, id string) error {
	f.note("kill " + id)
	f.set(id, "stopped", "killed by SIGKILL (kill requested)", 0)
	return nil
}
func (f *fakeMaster) Stop(_ context.Context, ids []string) error {
	f.note("stop " + strings.Join(ids, ","))
	return nil
}
func (f *fakeMaster) Restart(_ context.Context, id string) error {
	f.note("restart " + id)
	f.set(id, "running", "registered after 9ms", 4242)
	return nil
}
func (f *fakeMaster) Add(_ context.Context, r admin.AddRequest) (admin.ServerStatus, error) {
	f.note("add " + r.Type + " " + r.ID)
	return admin.ServerStatus{ID: r.ID, Type: r.Type, State: "running", Pid: 5151}, nil
}
func (f *fakeMaster) Down(context.Context) error { return nil }
func (f *fakeMaster) Kick(context.Context, []string, string) error {
	return errors.New("the terminal UI does not kick")
}
func (f *fakeMaster) Note(_ context.Context, text string) error {
	f.journal.Publish(admin.Event{Kind: admin.KindNote, Note: text})
	return nil
}
func (f *fakeMaster) Drain(context.Context, []string, bool) error {
	return errors.New("the terminal UI does not drain")
}
func (f *fakeMaster) Apply(context.Context, admin.ApplyRequest) error {
	return errors.New("the terminal UI does not apply topologies")
}
func (f *fakeMaster) Revert(context.Context, []string) error {
	return errors.New("the terminal UI does not revert")
}
func (f *fakeMaster) Promote(_ context.Context, id string) error {
	f.note("promote " + id)
	return nil
}
func (f *fakeMaster) Config(_ context.Context, id string) (any, error) {
	return map[string]any{"id": id, "type": "chat", "host": "127.0.0.1", "port": 6050, "restart": map[string]any{"policy": "always"}}, nil
}
func (f *fakeMaster) Logs(_ context.Context, r admin.LogRequest) (admin.LogChunk, error) {
	text := "time=2026-12-07T05:59:00Z level=INFO msg=\"server started\" server=" + r.ID + "\n" +
		"time=2026-12-07T05:59:01Z level=INFO msg=\"monitor: registered with the master\" server=" + r.ID + "\n"
	if r.Offset >= int64(len(text)) {
		return admin.LogChunk{ID: r.ID, Next: int64(len(text))}, nil
	}
	return admin.LogChunk{ID: r.ID, Data: text, Next: int64(len(text))}, nil
}

// ui is the UI on f, as user, at 100×24, its clock fixed.
func (f *fakeMaster) ui(t *testing.T, user, password string, cfg Config) *teatest.TestModel {
	cfg.Connect = func(context.Context) (Client, string, error) {
		return admin.NewClient(f.addr, user, password), "127.0.0.1:3005", nil
	}
	cfg.Now = func() time.Time { return clock }
	m := New(cfg)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 24))
	t.Cleanup(func() { _ = tm.Quit(); m.quit() })
	return tm
}

// waitScreen waits until the UI has drawn every text (each wait reads
// on from where the last stopped).
func waitScreen(t *testing.T, tm *teatest.TestModel, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, text := range texts {
			if !bytes.Contains(b, []byte(text)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// snapshot ends the UI and compares what it shows with the golden file.
func snapshot(t *testing.T, tm *teatest.TestModel) *Model {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	golden.RequireEqual(t, []byte(m.View()))
	return m
}

func press(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "ctrl+k":
		return tea.KeyMsg{Type: tea.KeyCtrlK}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// Every view, as a golden snapshot (colours off: the text is what is
// compared), against the fake admin API.
func TestViews(t *testing.T) {
	t.Run("table", func(t *testing.T) {
		f := newFakeMaster(t, 9, true)
		tm := f.ui(t, "admin", "s3cret", Config{})
		waitScreen(t, tm, "gate-server-3")
		snapshot(t, tm)
	})
	t.Run("sorted-grouped-filtered", func(t *testing.T) {
		f := newFakeMaster(t, 9, false)
		tm := f.ui(t, "admin", "s3cret", Config{})
		waitScreen(t, tm, "gate-server-3")
		tm.Send(press("o")) // by type
		tm.Send(press("o")) // by role
		tm.Send(press("O"))
		tm.Send(press("t"))
		tm.Send(press("/"))
		tm.Type("server-2")
		waitScreen(t, tm, `filtered by "server-2"`)
		snapshot(t, tm)
	})
	t.Run("rollout", func(t *testing.T) {
		f := newFakeMaster(t, 9, false)
		tm := f.ui(t, "admin", "s3cret", Config{})
		waitScreen(t, tm, "gate-server-3")
		servers := slices.Clone(f.servers)
		for i := range servers {
			if servers[i].ID == "connector-server-2" {
				servers[i].Draining = true
			}
		}
		f.journal.Publish(admin.Event{Kind: admin.KindStats, At: clock, Servers: servers, Master: &f.info})
		f.journal.Publish(admin.Event{Kind: admin.KindNote, At: time.Now(), Note: "rollout: group blue: restarting chat-server-1"})
		waitScreen(t, tm, "rollout: group blue: restarting chat-server-1", "draining")
	})
	t.Run("detail", func(t *testing.T) {
		f := newFakeMaster(t, 9, false)
		tm := f.ui(t, "admin", "s3cret", Config{})
		waitScreen(t, tm, "gate-server-3")
		for range 3 {
			f.journal.Publish(admin.Event{Kind: admin.KindStats, At: clock, Servers: f.servers, Master: &f.info})
		}
		tm.Send(press("down")) // the master's row is first
		tm.Send(press("enter"))
		waitScreen(t, tm, "monitor: registered with the master", `"host": "127.0.0.1"`)
		snapshot(t, tm)
	})
	t.Run("logs", func(t *testing.T) {
		f := newFakeMaster(t, 9, false)
		tm := f.ui(t, "admin", "s3cret", Config{})
		waitScreen(t, tm, "gate-server-3")
		tm.Send(press("down"))
		tm.Send(press("l"))
		waitScreen(t, tm, "monitor: registered with the master")
		snapshot(t, tm)
	})
	t.Run("help", func(t *testing.T) {
		f := newFakeMaster(t, 3, false)
		tm := f.ui(t, "admin", "s3cret", Config{})
		waitScreen(t, tm, "gate-server-1")
		tm.Send(press("?"))
		waitScreen(t, tm, "Commands")
		snapshot(t, tm)
	})
	t.Run("kill-asks", func(t *testing.T) {
		f := newFakeMaster(t, 3, false)
		tm := f.ui(t, "admin", "s3cret", Config{})
		waitScreen(t, tm, "gate-server-1")
		tm.Send(press("down"))
		tm.Send(press("ctrl+k"))
		waitScreen(t, tm, "with SIGKILL? y/n")
		snapshot(t, tm)
	})
	t.Run("add-form", func(t *testing.T) {
		f := newFakeMaster(t, 3, false)
		tm := f.ui(t, "admin", "s3cret", Config{})
		waitScreen(t, tm, "gate-server-1")
		tm.Send(press("down"))
		tm.Send(press("a"))
		tm.Send(press("tab"))
		tm.Type("chat-server-9")
		waitScreen(t, tm, "chat-server-9")
		snapshot(t, tm)
	})
	t.Run("readonly", func(t *testing.T) {
		f := newFakeMaster(t, 3, false)
		tm := f.ui(t, "monitor", "ro", Config{})
		waitScreen(t, tm, "gate-server-1")
		tm.Send(press("down"))
		tm.Send(press("ctrl+k"))
		waitScreen(t, tm, "only level 1 may act")
		snapshot(t, tm)
		if len(f.acted) != 0 {
			t.Errorf("a level-2 user's UI acted: %v", f.acted)
		}
	})
	t.Run("narrow", func(t *testing.T) {
		f := newFakeMaster(t, 30, true)
		cfg := Config{Now: func() time.Time { return clock }, Connect: func(context.Context) (Client, string, error) {
			return admin.NewClient(f.addr, "admin", "s3cret"), "127.0.0.1:3005", nil
		}}
		m := New(cfg)
		tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
		t.Cleanup(m.quit)
		waitScreen(t, tm, "chat-server-1")
		tm.Send(tea.WindowSizeMsg{Width: 60, Height: 12}) // resized smaller
		waitScreen(t, tm, "chat-server-1")
		snapshot(t, tm)
	})
}

// Actions reach the master, and their outcome shows in the status line
// and the table: a kill (after y), a restart, a stop, an add through the
// form, a promotion (after y) and the command line.
func TestActions(t *testing.T) {
	f := newFakeMaster(t, 3, true)
	tm := f.ui(t, "admin", "s3cret", Config{})
	waitScreen(t, tm, "gate-server-1")
	tm.Send(press("down"))
	tm.Send(press("down")) // past both masters: chat-server-1
	tm.Send(press("ctrl+k"))
	tm.Send(press("y"))
	waitScreen(t, tm, "chat-server-1 killed")
	tm.Send(press("r"))
	waitScreen(t, tm, "chat-server-1 restarted")
	tm.Send(press("s"))
	waitScreen(t, tm, "chat-server-1 stopped")
	tm.Send(press("ctrl+k"))
	tm.Send(press("n"))
	waitScreen(t, tm, "nothing done")
	tm.Send(press("a"))
	tm.Send(press("tab"))
	tm.Type("chat-server-9")
	tm.Send(press("enter"))
	waitScreen(t, tm, "chat-server-9 added")
	tm.Send(press("g"))
	tm.Send(press("down")) // the standby
	tm.Send(press("P"))
	tm.Send(press("y"))
	waitScreen(t, tm, "master-server-2 promoted")
	tm.Send(press(":"))
	tm.Type("restart gate-server-1")
	tm.Send(press("enter"))
	waitScreen(t, tm, "gate-server-1 restarted")
	tm.Send(press(":"))
	tm.Type("frobnicate")
	tm.Send(press("enter"))
	waitScreen(t, tm, `no command "frobnicate"`)
	_ = tm.Quit()
	want := "kill chat-server-1,restart chat-server-1,stop chat-server-1,add chat chat-server-9,promote master-server-2,restart gate-server-1"
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := strings.Join(f.acted, ","); got != want {
		t.Errorf("the master was asked:\n%s\nwant:\n%s", got, want)
	}
}

// The UI survives the master going away: it says so, finds the leader
// again (another master: a failover), and shows that one's cluster.
func TestReconnects(t *testing.T) {
	old, next := newFakeMaster(t, 3, true), newFakeMaster(t, 6, true)
	var mu sync.Mutex
	calls := 0
	cfg := Config{Now: func() time.Time { return clock }, Connect: func(context.Context) (Client, string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		switch {
		case calls == 1:
			return admin.NewClient(old.addr, "admin", "s3cret"), "127.0.0.1:3005", nil
		case calls == 2:
			return nil, "", fmt.Errorf("no master answers: %w", http.ErrServerClosed)
		}
		return admin.NewClient(next.addr, "admin", "s3cret"), "127.0.0.1:3006", nil
	}}
	m := New(cfg)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 24))
	t.Cleanup(m.quit)
	waitScreen(t, tm, "gate-server-1")
	old.journal.Close("this master is no longer the leader")
	waitScreen(t, tm, "reconnected: the leader is now at 127.0.0.1:3006", "gate-server-2")
	_ = tm.Quit()
}
