package master

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/topology"
)

// A new master wakes the monitor agent of each server it adopts (the
// monitor's WakeSignal, to the server's process group) instead of leaving it
// to come back when its back-off ends. The server here is a shell an
// earlier master would have left, leading its own process group as a
// launched server does, that notes each wake in a file; a child of it
// stands for a server that a wrapper script runs.
func TestAdoptWakesTheServers(t *testing.T) {
	offset, err := freeport.Offset(3005, 6050)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "topology.yaml")
	if err := os.WriteFile(file, []byte(`
master:
  host: 127.0.0.1
  port: 3005
  users: [{id: user-1, username: admin, password: admin, level: 1}]
servers:
  chat:
    command: sh
    instances: [{id: chat-server-1, host: 127.0.0.1, port: 6050}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	top, _, err := topology.Load(file, topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}

	woken := filepath.Join(dir, "woken")
	// The wrapper traps nothing; the signal must reach its child through
	// the group.
	server := exec.Command("sh", "-c", `sh -c 'trap "echo woken >> \"$0\"" WINCH; echo ready >> "$0"; while :; do sleep 1 & wait $!; done' "$0" & wait`, woken)
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = server.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	// A wake sent before the trap is set would be ignored, as SIGWINCH is.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if data, _ := os.ReadFile(woken); strings.Contains(string(data), "ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stand-in server did not start")
		}
	}
	pid := server.Process.Pid
	st, err := proc.StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	run := RunDir(filepath.Join(dir, "run"))
	if err := run.writeServer(ServerRecord{ID: "chat-server-1", Type: "chat", Pid: pid, StartTime: st, Started: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// It never registers: the deadline for that is past the test's end.
	m, err := New(Config{Topology: top, RunDir: run, Logger: testLogger(t), RegisterTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := start(t, m)

	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if data, _ := os.ReadFile(woken); strings.Contains(string(data), "woken") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the adopted server was not woken")
		}
	}
	list, err := m.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].State != "running" || list[0].Pid != pid {
		t.Errorf("servers: %+v; want chat-server-1 running as the adopted pid %d", list, pid)
	}
	// The master stops it as any server: SIGTERM to the group.
	cancel()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Error("the adopted server was not stopped with the cluster")
	}
}
