package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/internal/zktest"
)

// Two hosts on this machine: host A is 127.0.0.1, where up runs, the
// leader and most servers; host B is 127.0.0.2, with the standby master
// and chat-server-3. Each process stands for its host alone ($POMELOCTL_HOST),
// and a stand-in ssh runs a command "on" a host here, with that host's run
// directory in place of A's: B's master knows nothing of what A's run
// directory records.
const hostA, hostB = "127.0.0.1", "127.0.0.2"

// TestStandbyOnAnotherHost: up starts the standby on its host over ssh;
// the leader is killed with -9 and the standby on the other host takes
// over every server without restarting one (it has no record of them: it
// waits for them to register, and adopts each by the pid it registers
// with), while clients echo and chat; the new leader restarts and kills
// servers of the first host over ssh, and down stops them all.
func TestStandbyOnAnotherHost(t *testing.T) {
	z := zktest.Start(t)
	const timeout = 2 * time.Second
	top := strings.Replace(haTopology(t, z.Addr, timeout), "{id: master-server-2, host: 127.0.0.1", "{id: master-server-2, host: "+hostB, 1)
	top = strings.Replace(top, "{id: chat-server-3, host: 127.0.0.1", "{id: chat-server-3, host: "+hostB, 1)
	c := newTestCluster(t, top)
	t.Cleanup(func() { killMentioning(c.dir) })
	runB := filepath.Join(c.dir, "host-b", "run")
	calls := twoHostSSH(t, c, runB)
	c.env = []string{envHost + "=" + hostA, "PATH=" + filepath.Dir(calls) + string(os.PathListSeparator) + os.Getenv("PATH")}
	addrB := net.JoinHostPort(hostB, strconv.Itoa(3006+c.offset))

	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{calls, c.runDir().Log("master-server-2"), filepath.Join(runB, "logs", "master-server-2.log"), c.runDir().Log("master")} {
				data, _ := os.ReadFile(f)
				t.Logf("%s:\n%s", f, tail(string(data), 80))
			}
		}
	})
	out := c.must("up", c.file, "-d", "--timeout", "30s")
	if !strings.Contains(out, "standby master master-server-2: started over ssh") {
		t.Errorf("up did not say it started the standby over ssh:\n%s", out)
	}
	waitWithin(t, 10*time.Second, "master-server-2 to stand by on host B", func() bool { return strings.Contains(httpGet(addrB), "is a standby master") })
	if got := sshCalls(t, calls); !strings.Contains(got, hostB+"|") || !strings.Contains(got, "--standby master-server-2") || !strings.Contains(got, "--id chat-server-3") {
		t.Errorf("want the standby and chat-server-3 started on %s over ssh; the calls:\n%s", hostB, got)
	}
	before := c.servers()
	for _, s := range before {
		c.note(s.Pid)
	}

	load := echoLoad(t, c)
	defer load.stop()
	chat := chatAcross(c, 4*time.Second)
	time.Sleep(500 * time.Millisecond)

	_, killed := c.killLeader()
	var adopted time.Duration
	waitWithin(t, timeout+15*time.Second, "master-server-2 to lead from host B with every server", func() bool {
		l, ok := ha.LeaderOf(t.Context(), []string{z.Addr}, "/pomeloctl/"+t.Name(), "")
		if !ok || l.ID != "master-server-2" {
			return false
		}
		adopted = time.Since(killed)
		return true
	})
	// The control commands on host A find it through ZooKeeper: A's run
	// directory still names the dead leader.
	after := c.servers()
	for id, s := range before {
		if a := after[id]; a.Pid != s.Pid || a.State != "running" || a.Restarts != 0 {
			t.Errorf("%s across the failover to another host: pid %d %s restarts %d, then pid %d %s restarts %d; want the same process running", id, s.Pid, s.State, s.Restarts, a.Pid, a.State, a.Restarts)
		}
	}
	if got := sshCalls(t, calls); !strings.Contains(got, hostA+"|while set -- ") {
		t.Errorf("want the servers of host A watched over ssh by the leader on host B; the calls:\n%s", got)
	}
	if rec, err := master.RunDir(runB).Master(); err != nil || rec.ID != "master-server-2" {
		t.Errorf("host B's run directory: %+v, %v; want master-server-2 recorded", rec, err)
	}
	logB, _ := os.ReadFile(filepath.Join(runB, "logs", "master-server-2.log"))
	if !strings.Contains(string(logB), "waiting for the servers no record here names to register") {
		t.Errorf("master-server-2's log (on host B) does not say it waited for the servers to register:\n%s", tail(string(logB), 30))
	}
	checkChat(t, <-chat, "the failover to another host")
	// up on host A, whose run directory names a dead leader, does not start
	// the cluster anew over the one led from host B.
	if code, _, errOut := c.run("up", c.file, "-d"); code != 1 || !strings.Contains(errOut, "already running: master master-server-2 leads it from "+addrB) {
		t.Errorf("up with a leader on host B: exit %d, %s; want exit 1 naming the leader", code, errOut)
	}

	// A graceful restart of a server on host A, through the leader on B:
	// stopped and started again over ssh, no request lost.
	c.must("restart", "chat-server-1")
	restarted := c.servers()["chat-server-1"]
	if restarted.State != "running" || restarted.Pid == before["chat-server-1"].Pid {
		t.Errorf("chat-server-1 after restart: %+v; want a new process running", restarted)
	}
	c.note(restarted.Pid)
	answered := load.check(t, "the failover to another host and a restart")

	// kill -9 of a server on host A: over ssh, by the pid it registered
	// with; started again by hand, over ssh.
	old := c.servers()["chat-server-2"]
	oldStart := mustStart(old.Pid)
	c.must("kill", "chat-server-2")
	if s := c.servers()["chat-server-2"]; s.State != "stopped" {
		t.Errorf("chat-server-2 after kill: %+v; want stopped", s)
	}
	if got := sshCalls(t, calls); !strings.Contains(got, hostA+"|kill -KILL -"+strconv.Itoa(old.Pid)) {
		t.Errorf("want chat-server-2 (pid %d) killed on %s over ssh; the calls:\n%s", old.Pid, hostA, got)
	}
	waitGone(t, old.Pid, oldStart)
	c.must("restart", "chat-server-2")
	if s := c.servers()["chat-server-2"]; s.State != "running" || s.Pid == old.Pid {
		t.Errorf("chat-server-2 started again: %+v; want a new process running", s)
	}
	for _, s := range c.servers() {
		c.note(s.Pid)
	}
	t.Logf("failover to a standby on another host after kill -9: %s to a leader with every server adopted (session timeout %s); %d requests answered, none failed",
		adopted.Round(time.Millisecond), timeout, answered)

	c.downHA(t, 2, filepath.Join(runB, "logs", "master-server-2.log"))
	c.waitNoneAlive(20 * time.Second)
}

// twoHostSSH puts the stand-in ssh for hosts A and B on the cluster's
// PATH and gives the file it records its calls in ("HOST|COMMAND" a
// line). On host B, A's run directory is runB.
func twoHostSSH(t *testing.T, c *testCluster, runB string) (calls string) {
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	script := fmt.Sprintf(`#!/bin/sh
host=""; cmd=""
for a; do host="$cmd"; cmd="$a"; done
printf '%%s|%%s\n' "$host" "$cmd" >> '%s'
case "$host" in
%s) cmd=$(printf '%%s' "$cmd" | sed 's#%s#%s#g') ;;
esac
exec env %s="$host" sh -c "$cmd"
`, calls, hostB, string(c.runDir()), runB, envHost)
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return calls
}

func sshCalls(t *testing.T, calls string) string {
	data, err := os.ReadFile(calls)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}
