package proc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/topology"
)

func start(t *testing.T, spec Spec) *Process {
	t.Helper()
	if spec.LogFile == "" {
		spec.LogFile = filepath.Join(t.TempDir(), "logs", "server.log")
	}
	p, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = KillGroup(p.Pid, p.StartTime, syscall.SIGKILL)
		_, _ = p.Wait()
	})
	return p
}

func TestOutputGoesToTheLogFile(t *testing.T) {
	log := filepath.Join(t.TempDir(), "logs", "gate-server-1.log")
	p := start(t, Spec{Path: "/bin/sh", Args: []string{"-c", "echo out; echo err >&2; exit 3"}, LogFile: log})
	st, err := p.Wait()
	if err != nil || st.ExitCode() != 3 {
		t.Fatalf("wait: %v %v, want exit 3", st, err)
	}
	data, _ := os.ReadFile(log)
	if string(data) != "out\nerr\n" {
		t.Errorf("log file: got %q, want both streams", data)
	}
}

func TestOwnSessionAndProcessGroup(t *testing.T) {
	p := start(t, Spec{Path: "/bin/sleep", Args: []string{"30"}})
	pgid, err := syscall.Getpgid(p.Pid)
	if err != nil || pgid != p.Pid {
		t.Errorf("process group: got %d (%v), want the process's own, %d", pgid, err, p.Pid)
	}
	sid, err := getsid(p.Pid)
	if err != nil || sid != p.Pid {
		t.Errorf("session: got %d (%v), want the process's own, %d", sid, err, p.Pid)
	}
	if !Alive(p.Pid, p.StartTime) {
		t.Error("a running process is not alive")
	}
	if Alive(p.Pid, p.StartTime+1) {
		t.Error("a process with another start time counts as alive: a reused pid would be taken for the server")
	}
}

func TestKillGroupReachesChildren(t *testing.T) {
	// The server starts a child of its own; killing the group must end both.
	dir := t.TempDir()
	childPid := filepath.Join(dir, "child.pid")
	p := start(t, Spec{Path: "/bin/sh", Args: []string{"-c", "sleep 30 & echo $! > " + childPid + "; wait"}})
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(childPid)
		child = atoi(strings.TrimSpace(string(data)))
	}
	childStart, err := StartTime(child)
	if err != nil {
		t.Fatalf("the server's child: %v", err)
	}
	if err := KillGroup(p.Pid, p.StartTime, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st, _ := p.Wait()
	if st == nil || st.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("the server ended with %v, want SIGKILL", st)
	}
	for deadline := time.Now().Add(5 * time.Second); Alive(child, childStart) && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if Alive(child, childStart) {
		t.Error("the server's child outlived the kill of its group")
	}
	if err := KillGroup(p.Pid, p.StartTime, syscall.SIGKILL); err != ErrGone {
		t.Errorf("killing a reaped process: got %v, want ErrGone", err)
	}
}

func TestPinnedBeforeTheFirstInstruction(t *testing.T) {
	log := filepath.Join(t.TempDir(), "cpus.log")
	p := start(t, Spec{Path: "/bin/sh", Args: []string{"-c", "grep Cpus_allowed_list /proc/self/status"}, LogFile: log, CPUs: []int{0}})
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(log)
	if got := strings.Join(strings.Fields(string(data)), " "); got != "Cpus_allowed_list: 0" {
		t.Errorf("a process pinned to CPU 0 reports %q", got)
	}
	// and the launcher's thread is back to what it was: the next process is not pinned
	p2 := start(t, Spec{Path: "/bin/sh", Args: []string{"-c", "grep Cpus_allowed_list /proc/self/status"}, LogFile: log + "2"})
	if _, err := p2.Wait(); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(log + "2")
	want := "Cpus_allowed_list: " + topology.CPUSet(mustAllowed(t)).String()
	if got := strings.Join(strings.Fields(string(data)), " "); got != want {
		t.Errorf("an unpinned process after a pinned one reports %q, want %q", got, want)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(Spec{Path: "/nonexistent/server", LogFile: filepath.Join(t.TempDir(), "x.log")}); err == nil || !strings.Contains(err.Error(), "/nonexistent/server") {
		t.Errorf("a missing program: got %v", err)
	}
	if _, err := Start(Spec{Path: "/bin/true"}); err == nil {
		t.Error("no log file: no error")
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func TestPSS(t *testing.T) {
	pss, err := PSS(os.Getpid())
	if err != nil || pss < 1<<20 {
		t.Errorf("PSS of this test: %d bytes (%v), want at least 1 MiB", pss, err)
	}
	if _, err := PSS(1 << 30); err == nil {
		t.Error("PSS of a pid that does not exist: no error")
	}
}

func TestWaitGone(t *testing.T) {
	p := start(t, Spec{Path: "sleep", Args: []string{"30"}})
	gone := make(chan error, 1)
	go func() { gone <- WaitGone(context.Background(), p.Pid, p.StartTime) }()
	select {
	case err := <-gone:
		t.Fatalf("WaitGone returned while the process runs: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := Signal(p.Pid, p.StartTime, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-gone:
		if err != nil {
			t.Errorf("WaitGone: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitGone did not see the process die")
	}
	_, _ = p.Wait()
	if err := Signal(p.Pid, p.StartTime, syscall.SIGKILL); err != ErrGone {
		t.Errorf("Signal to a dead process: got %v, want ErrGone", err)
	}
	if err := WaitGone(context.Background(), p.Pid, p.StartTime); err != nil {
		t.Errorf("WaitGone on a dead process: %v", err)
	}
}

func TestWaitGoneEndsWithItsContext(t *testing.T) {
	p := start(t, Spec{Path: "sleep", Args: []string{"30"}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := WaitGone(ctx, p.Pid, p.StartTime); err != context.DeadlineExceeded {
		t.Errorf("got %v, want the context's deadline", err)
	}
	if err := pollGone(ctx, p.Pid, p.StartTime); err != context.DeadlineExceeded {
		t.Errorf("polling: got %v, want the context's deadline", err)
	}
}
