package master

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/topology"
)

// TestMasterInProcess runs a master in the test's process (so that the race
// detector watches the run loop) over real server processes, and steers it
// through the admin client. cmd/pomeloctl's tests drive the same through
// the CLI, with the master in its own process.
func TestMasterInProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pomeloctl")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/pomeloctl").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	offset, err := freeport.Offset(3005, 3014, 3050, 3051, 3052, 3053, 4050, 4051, 4052, 4053, 6050, 6051, 6052)
	if err != nil {
		t.Fatal(err)
	}
	top, _, err := topology.Load("../../examples/chat/topology.yaml", topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	var events []lifecycle.Event // appended on the run loop, read after Run returns
	m, err := New(Config{Topology: top, RunDir: RunDir(t.TempDir()), Executable: bin, OnEvent: func(e lifecycle.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready in 30s")
	}
	cl := admin.NewClient(m.Addr(), "admin", "admin")
	if err := cl.Kill(ctx, "chat-server-1"); err != nil {
		t.Error(err)
	}
	if err := cl.Restart(ctx, "chat-server-1"); err != nil {
		t.Error(err)
	}
	st, err := cl.Add(ctx, admin.AddRequest{Type: "connector"})
	if err != nil || st.ID != "connector-server-4" || st.State != "running" || st.ClientPort != 3053+offset {
		t.Errorf("add: %+v %v", st, err)
	}
	if err := cl.Stop(ctx, "connector-server-4"); err != nil {
		t.Error(err)
	}
	if err := cl.Restart(ctx, "nosuch"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("restart nosuch: %v", err)
	}
	list, err := cl.Servers(ctx)
	if err != nil || len(list) != 8 {
		t.Fatalf("servers: %d %v", len(list), err)
	}
	for _, s := range list {
		want := "running"
		if s.ID == "connector-server-4" {
			want = "stopped"
		}
		if s.State != want {
			t.Errorf("%s: %s, want %s", s.ID, s.State, want)
		}
	}
	info, err := cl.Info(ctx)
	if err != nil || !info.Ready || info.Epoch != 1 {
		t.Errorf("info: %+v %v", info, err)
	}
	cancel() // as Ctrl-C does: the cluster stops, frontends first
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stopped := map[string]int{}
	for i, e := range events {
		if e.To == lifecycle.Stopping && e.Cause == "stop-requested" {
			stopped[e.Server] = i
		}
	}
	for _, s := range list {
		if s.Type == "chat" {
			for _, fe := range []string{"gate-server-1", "connector-server-1"} {
				if stopped[s.ID] < stopped[fe] {
					t.Errorf("%s was asked to stop before frontend %s", s.ID, fe)
				}
			}
		}
	}
}
