package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/internal/zktest"
)

// screen is pomeloctl tui running in a tmux of the test's own (its own
// server socket: a user's tmux is never touched), 120×30; when the UI
// exits, the screen says "exit status N".
type screen struct {
	t      *testing.T
	socket string
}

func openScreen(t *testing.T, c *testCluster, args ...string) *screen {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("the terminal UI's end-to-end test drives it in tmux, which is not installed: ./install.sh --test installs it")
	}
	s := &screen{t: t, socket: fmt.Sprintf("pomeloctl-test-%d-%d", os.Getpid(), c.offset)}
	cmd := []string{"env", "POMELOCTL_TOPOLOGY=" + c.file, "TERM=xterm-256color", c.bin, "tui", "--port-offset", strconv.Itoa(c.offset)}
	cmd = append(cmd, args...)
	s.tmux(append([]string{"new-session", "-d", "-s", "ui", "-x", "120", "-y", "30"}, strings.Join(quoteAll(cmd), " ")+"; echo exit status $?; sleep 60")...)
	t.Cleanup(s.close)
	return s
}

// close ends the tmux server, whose command line names the cluster's
// folder: the HA tests wait for every such process to be gone.
func (s *screen) close() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() }

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuoteForTest(a)
	}
	return out
}

func shellQuoteForTest(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (s *screen) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys types keys, as tmux names them, one at a time: an escape and the
// key after it, sent together, would read as alt+key.
func (s *screen) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		s.tmux("send-keys", "-t", "ui", k)
		time.Sleep(60 * time.Millisecond)
	}
}

func (s *screen) text() string { return s.tmux("capture-pane", "-p", "-t", "ui") }

// wait waits until the screen shows every text.
func (s *screen) wait(within time.Duration, texts ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		screen := s.text()
		ok := true
		for _, text := range texts {
			ok = ok && strings.Contains(screen, text)
		}
		if ok {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waited %s for %q on the screen:\n%s", within, texts, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// line is the screen's line that starts with prefix.
func line(screen, prefix string) string {
	for l := range strings.Lines(screen) {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// The terminal UI against a real cluster, driven by its keys in tmux: a
// server killed (after y) shows stopped, restarted shows running with a
// new pid, its log followed; the UI quits with q.
func TestTUIEndToEnd(t *testing.T) {
	c := newTestCluster(t, chatTopology(t))
	c.must("up", c.file, "-d")
	defer c.must("down")
	before := c.ls()["chat-server-2"]
	s := openScreen(t, c)
	s.wait(10*time.Second, "chat-server-2", "7/7 running")
	s.keys("/")
	s.keys("chat-server-2", "Enter")
	s.keys("C-k")
	s.wait(5*time.Second, fmt.Sprintf("kill chat-server-2 (pid %d) with SIGKILL? y/n", before.Pid))
	s.keys("y")
	screen := s.wait(10*time.Second, "chat-server-2 killed")
	if l := line(screen, "chat-server-2"); !strings.Contains(l, "stopped") {
		t.Errorf("chat-server-2's row after the kill: %q; want it stopped", l)
	}
	s.keys("r")
	screen = s.wait(15*time.Second, "chat-server-2 restarted")
	after := c.ls()["chat-server-2"]
	if after.State != "running" || after.Pid == before.Pid {
		t.Errorf("chat-server-2 after r: %+v; want a new process running", after)
	}
	s.wait(5*time.Second, strconv.Itoa(after.Pid))
	if l := line(screen, "chat-server-2"); !strings.Contains(l, "running") {
		t.Errorf("chat-server-2's row after the restart: %q; want it running", l)
	}
	s.keys("l")
	s.wait(5*time.Second, "log of chat-server-2", `msg="server started"`)
	s.keys("Escape")
	s.keys("q")
	s.wait(5*time.Second, "exit status 0")
}

// With master HA, a standby promoted from the UI (after y) leads, and the
// UI follows it to the new leader.
func TestTUIPromotes(t *testing.T) {
	z := zktest.Start(t)
	c, _ := upHA(t, haTopology(t, z.Addr, 2*time.Second), "30s", 10*time.Second)
	s := openScreen(t, c)
	s.wait(10*time.Second, "leader master-server-1", "master-server-2", "standby")
	s.keys("/")
	s.keys("master-server-2", "Enter")
	s.keys("P")
	s.wait(5*time.Second, "promote master-server-2 to lead the cluster? y/n")
	s.keys("y")
	s.wait(15*time.Second, "leader master-server-2")
	if rec, err := c.runDir().Master(); err != nil || rec.ID != "master-server-2" {
		t.Errorf("the run directory after the promotion: %+v %v; want master-server-2 leading", rec, err)
	}
	s.keys("q")
	s.wait(5*time.Second, "exit status 0")
	s.close()
	c.downHA(t, 2)
}
