package master

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Frontends wait for the backends; one an operator stops while it waits
// stays stopped when the others are launched.
func TestHeldFrontends(t *testing.T) {
	bin := buildPomeloctl(t)
	offset, err := freeport.Offset(3005, 3014, 3050, 3051, 3052, 4050, 4051, 4052, 6050, 6051, 6052)
	if err != nil {
		t.Fatal(err)
	}
	dir := chatCopy(t, func(text string) string {
		// chat servers that never register, until the master gives up on them
		return strings.Replace(text, "  chat:\n", "  chat:\n    command: sh\n    args: [-c, 'exec sleep 60']\n", 1)
	})
	top, _, err := topology.Load(filepath.Join(dir, "topology.yaml"), topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Topology: top, RunDir: RunDir(t.TempDir()), Executable: bin, Logger: testLogger(t), RegisterTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := start(t, m)
	cl := admin.NewClient(m.Addr(), "admin", "admin")
	states := func() map[string]admin.ServerStatus {
		t.Helper()
		list, err := cl.Servers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]admin.ServerStatus{}
		for _, s := range list {
			out[s.ID] = s
		}
		return out
	}
	// Addr is known before Run listens on it: wait for an answer.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		list, err := cl.Servers(ctx)
		if err == nil && slices.ContainsFunc(list, func(s admin.ServerStatus) bool { return s.ID == "chat-server-1" && s.State == "starting" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the chat servers were not launched: %v %+v", err, list)
		}
	}
	if s := states()["connector-server-1"]; s.State != "stopped" || !strings.Contains(s.Reason, "launched once the backends have registered") {
		t.Fatalf("a frontend while the backends start: %+v", s)
	}
	if err := cl.Stop(ctx, "gate-server-1"); err != nil {
		t.Fatal(err)
	}
	// The chat servers miss their 2 s to register; the frontends go then.
	for deadline := time.Now().Add(15 * time.Second); states()["connector-server-1"].State != "running"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the frontends were not launched once the backends gave up: %+v", states())
		}
	}
	if s := states()["gate-server-1"]; s.State != "stopped" || s.Pid != 0 {
		t.Errorf("the gate an operator stopped while it waited: %+v", s)
	}
}
