package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeCluster records the commands it gets; the real master is tested with real
// processes where it is built.
type fakeCluster struct {
	mu  sync.Mutex
	log []string
}

func (f *fakeCluster) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, s)
}

func (f *fakeCluster) Servers(context.Context) ([]ServerStatus, error) {
	return []ServerStatus{{ID: "gate-server-1", Type: "gate", State: "running", Pid: 42, Host: "127.0.0.1", ClientPort: 3014}}, nil
}
func (f *fakeCluster) Kill(_ context.Context, id string) error {
	if id == "nosuch" {
		return Errorf(http.StatusNotFound, "no server %q", id)
	}
	f.note("kill " + id)
	return nil
}
func (f *fakeCluster) Stop(_ context.Context, ids []string) error {
	f.note("stop " + strings.Join(ids, ","))
	return nil
}
func (f *fakeCluster) Restart(_ context.Context, id string) error {
	f.note("restart " + id)
	return nil
}
func (f *fakeCluster) Add(_ context.Context, r AddRequest) (ServerStatus, error) {
	f.note("add " + r.Type)
	return ServerStatus{ID: r.Type + "-server-9", Type: r.Type, State: "starting"}, nil
}
func (f *fakeCluster) Down(context.Context) error { f.note("down"); return nil }
func (f *fakeCluster) Apply(_ context.Context, r ApplyRequest) error {
	f.note(fmt.Sprintf("apply %s %v", r.File, r.IDs))
	return nil
}
func (f *fakeCluster) Revert(_ context.Context, ids []string) error {
	f.note(fmt.Sprintf("revert %v", ids))
	return nil
}
func (f *fakeCluster) Kick(_ context.Context, ids []string, reason string) error {
	f.note(fmt.Sprintf("kick %v %s", ids, reason))
	return nil
}
func (f *fakeCluster) Note(_ context.Context, text string) error {
	f.note("note " + text)
	return nil
}
func (f *fakeCluster) Drain(_ context.Context, ids []string, on bool) error {
	f.note(fmt.Sprintf("drain %v %v", ids, on))
	return nil
}
func (f *fakeCluster) Promote(_ context.Context, id string) error {
	f.note("promote " + id)
	return nil
}
func (f *fakeCluster) Logs(_ context.Context, r LogRequest) (LogChunk, error) {
	return LogChunk{ID: r.ID, Data: "line\n", Next: 5}, nil
}
func (f *fakeCluster) Config(_ context.Context, id string) (any, error) {
	return map[string]any{"id": id, "type": "chat", "port": 6050}, nil
}
func (f *fakeCluster) Info(context.Context) (MasterInfo, error) {
	return MasterInfo{ID: "master-server-1", Pid: 7}, nil
}

func serve(t *testing.T, extra ...Module) (*fakeCluster, string) {
	t.Helper()
	fc := &fakeCluster{}
	users := []User{{Name: "admin", Password: "s3cret", Level: LevelAct}, {Name: "monitor", Password: "ro", Level: LevelRead}}
	srv := httptest.NewServer(NewServer(users, fc, slog.New(slog.NewTextHandler(io.Discard, nil)), extra...))
	t.Cleanup(srv.Close)
	return fc, strings.TrimPrefix(srv.URL, "http://")
}

func TestClientAndLevels(t *testing.T) {
	fc, addr := serve(t)
	ctx := context.Background()
	admin := NewClient(addr, "admin", "s3cret")
	list, err := admin.Servers(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "gate-server-1" || list[0].Pid != 42 {
		t.Fatalf("servers: %+v %v", list, err)
	}
	if err := admin.Kill(ctx, "chat-server-1"); err != nil {
		t.Error(err)
	}
	if err := admin.Stop(ctx, "a", "b"); err != nil {
		t.Error(err)
	}
	if err := admin.Restart(ctx, "a"); err != nil {
		t.Error(err)
	}
	if c, err := admin.Logs(ctx, LogRequest{ID: "a"}); err != nil || c.Data != "line\n" || c.Next != 5 {
		t.Errorf("logs: %+v %v", c, err)
	}
	if _, err := admin.Logs(ctx, LogRequest{}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("logs without an id: %v", err)
	}
	if i, err := NewClient(addr, "monitor", "ro").Info(ctx); err != nil || i.Pid != 7 {
		t.Errorf("a reader asks for the master: %+v %v", i, err)
	}
	if s, err := admin.Add(ctx, AddRequest{Type: "chat"}); err != nil || s.ID != "chat-server-9" {
		t.Errorf("add: %+v %v", s, err)
	}
	if err := admin.Down(ctx); err != nil {
		t.Error(err)
	}
	if got := strings.Join(fc.log, "; "); got != "kill chat-server-1; stop a,b; restart a; add chat; down" {
		t.Errorf("commands the master got: %s", got)
	}

	reader := NewClient(addr, "monitor", "ro")
	if _, err := reader.Servers(ctx); err != nil {
		t.Errorf("a level-2 user reads: %v", err)
	}
	if err := reader.Kill(ctx, "x"); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "may only read") {
		t.Errorf("a level-2 user acting: got %v, want ErrForbidden", err)
	}
	for _, c := range []*Client{NewClient(addr, "admin", "wrong"), NewClient(addr, "", "")} {
		if _, err := c.Servers(ctx); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("bad credentials: got %v, want ErrUnauthorized", err)
		}
	}
	if err := admin.Kill(ctx, "nosuch"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `no server "nosuch"`) {
		t.Errorf("unknown server: got %v", err)
	}
	if err := admin.Call(ctx, "kill", map[string]string{"id": "x", "bogus": "y"}, nil); !errors.Is(err, ErrBadRequest) {
		t.Errorf("unknown argument: got %v, want ErrBadRequest", err)
	}
	if err := admin.Call(ctx, "kill", map[string]string{}, nil); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "name the server") {
		t.Errorf("kill without id: got %v", err)
	}
	if err := admin.Call(ctx, "nosuch", struct{}{}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown module: got %v", err)
	}
}

func TestRESTSpellingsAndModules(t *testing.T) {
	echo := Module{Name: "echo", Level: LevelRead, Handle: func(_ context.Context, u User, args json.RawMessage) (any, error) {
		return map[string]any{"user": u.Name, "args": args}, nil
	}}
	fc, addr := serve(t, echo)
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.SetBasicAuth("admin", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := do("GET", "/api/v1/servers", ""); code != 200 || !strings.Contains(body, `"id":"gate-server-1"`) {
		t.Errorf("GET servers: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/servers/chat-server-2/restart", ""); code != 200 {
		t.Errorf("POST restart: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/masters/master-server-2/promote", ""); code != 200 || !strings.Contains(body, `"id":"master-server-2"`) {
		t.Errorf("POST promote: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/servers/connector-server-1/drain", ""); code != 200 || !strings.Contains(body, `"ids":["connector-server-1"]`) {
		t.Errorf("POST drain: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/servers/chat-server-2/explode", ""); code != 404 || !strings.Contains(body, "use kill, stop, restart, drain or undrain") {
		t.Errorf("unknown action: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/modules/echo", `{"x":1}`); code != 200 || body != `{"result":{"args":{"x":1},"user":"admin"}}` {
		t.Errorf("a game's module: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/modules/echo", `not json`); code != 400 || !strings.Contains(body, "not JSON") {
		t.Errorf("bad body: %d %s", code, body)
	}
	if code, body := do("GET", "/api/v1/modules", ""); code != 200 || !strings.Contains(body, `{"name":"echo","level":2}`) || !strings.Contains(body, `{"name":"kill","level":1}`) {
		t.Errorf("module list: %d %s", code, body)
	}
	if got := strings.Join(fc.log, "; "); got != "restart chat-server-2; promote master-server-2; drain [connector-server-1] true" {
		t.Errorf("commands: %s", got)
	}
}

func TestCheckExposure(t *testing.T) {
	def := []User{{Name: "admin", Password: "admin", Level: 1}}
	own := []User{{Name: "ops", Password: "long-and-secret", Level: 1}}
	for _, tc := range []struct {
		addr  string
		users []User
		ok    bool
	}{
		{"127.0.0.1:3005", def, true},
		{"localhost:3005", def, true},
		{"[::1]:3005", def, true},
		{"0.0.0.0:3005", def, false},
		{"10.0.0.5:3005", def, false},
		{"10.0.0.5:3005", own, true},
	} {
		err := CheckExposure(tc.addr, tc.users)
		if (err == nil) != tc.ok {
			t.Errorf("CheckExposure(%s, %v): got %v, want ok=%v", tc.addr, tc.users[0].Name, err, tc.ok)
		}
	}
}
