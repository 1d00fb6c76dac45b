package master

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/proc"
)

// The loop that watches a server on another host ends when the process
// ends, even while it is an unreaped zombie, and at once for a pid that
// another process holds now; not before.
func TestWatchScript(t *testing.T) {
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Process.Kill()
	pid := sleeper.Process.Pid
	st, err := proc.StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	watch := func(startTime uint64) chan error {
		done := make(chan error, 1)
		go func() { done <- exec.Command("sh", "-c", watchScript(pid, startTime)).Run() }()
		return done
	}
	if err := <-watch(st + 1); err != nil {
		t.Errorf("watching a pid that another process holds: %v; want it to end at once, cleanly", err)
	}
	live, unknown := watch(st), watch(0)
	select {
	case err := <-live:
		t.Fatalf("the watch of a live process ended: %v", err)
	case <-time.After(700 * time.Millisecond):
	}
	// Killed and not reaped: a zombie, gone all the same.
	if err := sleeper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for name, done := range map[string]chan error{"with its start time": live, "without": unknown} {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the watch %s ended with %v", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("the watch %s of a dead (zombie) process did not end", name)
		}
	}
	_ = sleeper.Wait()
}
