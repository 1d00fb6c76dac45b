package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/bench"
	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/internal/zktest"
)

// haTopology is the chat demo with master HA in the ZooKeeper at zk: the
// topology's master leads first, master-server-2 stands by on 3006.
func haTopology(t *testing.T, zk string, timeout time.Duration) string {
	ha := fmt.Sprintf("ha:\n  zookeeper: %s\n  path: /pomeloctl/%s\n  sessionTimeout: %s\n  standbys:\n    - {id: master-server-2, host: 127.0.0.1, port: 3006}\n\n",
		zk, strings.ReplaceAll(t.Name(), "/", "-"), timeout)
	return strings.Replace(chatTopology(t), "# Every server runs", ha+"# Every server runs", 1)
}

// TestMasterFailover runs the chat demo with a leader and a standby master
// against a real ZooKeeper, with clients echoing through a backend the
// whole time: the leader killed with -9, the standby takes over within the
// session timeout and a second, adopting every server (same pids, none
// restarted) and the control commands follow it; the old leader started
// again stands by; SIGTERM to the new leader hands over at once; no
// request fails throughout; down stops every server and every master.
func TestMasterFailover(t *testing.T) {
	z := zktest.Start(t)
	const timeout = 2 * time.Second
	c := newTestCluster(t, haTopology(t, z.Addr, timeout))
	t.Cleanup(func() { killMentioning(c.dir) })
	c.must("up", c.file, "-d", "--timeout", "30s")
	before := c.servers()

	// Clients echo through a backend throughout.
	ctx, stopLoad := context.WithCancel(context.Background())
	var done, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			cl, err := client.Dial(ctx, c.port(3050+i%3), client.Options{})
			if err != nil {
				firstErr.CompareAndSwap(nil, err.Error())
				failed.Add(1)
				return
			}
			defer cl.Close()
			for ctx.Err() == nil {
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				res, err := cl.Request(rctx, "chat.chatHandler.echo", []byte(`{"n":1}`))
				cancel()
				if ctx.Err() != nil {
					return
				}
				if err == nil {
					err = bench.ReplyError(res)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					failed.Add(1)
				} else {
					done.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	defer func() { stopLoad(); wg.Wait() }()

	standby := c.port(3006)
	waitWithin(t, 10*time.Second, "the standby to answer as a standby", func() bool { return strings.Contains(httpGet(standby), "is a standby master") })

	// kill -9 the leader.
	leader, err := c.runDir().Master()
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := proc.Signal(leader.Pid, leader.StartTime, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitWithin(t, timeout+10*time.Second, "master-server-2 to lead", func() bool {
		rec, err := c.runDir().Master()
		code, out, _ := c.run("ls")
		return err == nil && rec.ID == "master-server-2" && code == 0 && strings.Contains(out, "chat-server-3")
	})
	failover := time.Since(killed)
	after := c.servers()
	for id, s := range before {
		if a := after[id]; a.Pid != s.Pid || a.State != "running" || a.Restarts != 0 {
			t.Errorf("%s across the failover: %+v, then %+v; want the same process running", id, s, a)
		}
	}

	// The old leader, started again, stands by; SIGTERM to the new leader
	// hands over to it at once.
	old := exec.Command(c.bin, "master", c.file, "--port-offset", strconv.Itoa(c.offset), "--run-dir", string(c.runDir()))
	logf, err := os.Create(filepath.Join(c.dir, "master-again.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	old.Stdout, old.Stderr = logf, logf
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = old.Wait() }()
	waitWithin(t, 10*time.Second, "master-server-1 to stand by", func() bool { return strings.Contains(httpGet(c.port(3005)), "is a standby master") })
	second, _ := c.runDir().Master()
	asked := time.Now()
	if err := proc.Signal(second.Pid, second.StartTime, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitWithin(t, 10*time.Second, "master-server-1 to lead again", func() bool {
		rec, err := c.runDir().Master()
		code, _, _ := c.run("ls")
		return err == nil && rec.ID == "master-server-1" && rec.Pid == old.Process.Pid && code == 0
	})
	handover := time.Since(asked)
	for id, s := range c.servers() {
		if b := before[id]; b.Pid != s.Pid || s.Restarts != 0 {
			t.Errorf("%s across the handover: %+v; want pid %d, no restart", id, s, b.Pid)
		}
	}
	// master-server-2 again, by hand, and promoted: it leads at once, and
	// the leader it replaces stands by.
	sb := exec.Command(c.bin, "master", c.file, "--standby", "master-server-2", "--port-offset", strconv.Itoa(c.offset), "--run-dir", string(c.runDir()))
	sb.Stdout, sb.Stderr = logf, logf
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = sb.Wait() }()
	waitWithin(t, 10*time.Second, "master-server-2 to stand by", func() bool {
		_, out, _ := c.run("ls")
		return strings.Contains(out, "master-server-2") && strings.Contains(out, "standby")
	})
	_, out, _ := c.run("ls")
	if !strings.Contains(out, "MASTER") || !regexpMatch(`master-server-1\s+\S+\s+leader\s+connected\s+\d+`, out) || !regexpMatch(`master-server-2\s+\S+\s+standby\s+connected\s+-`, out) {
		t.Errorf("ls with a leader and a standby:\n%s", out)
	}
	promoted := time.Now()
	c.must("promote", "master-server-2")
	waitWithin(t, 10*time.Second, "master-server-2 to lead", func() bool {
		rec, err := c.runDir().Master()
		_, out, _ := c.run("ls")
		return err == nil && rec.Pid == sb.Process.Pid && regexpMatch(`master-server-1\s+\S+\s+standby`, out)
	})
	promotion := time.Since(promoted)
	for id, s := range c.servers() {
		if b := before[id]; b.Pid != s.Pid || s.Restarts != 0 {
			t.Errorf("%s across the promotion: %+v; want pid %d, no restart", id, s, b.Pid)
		}
	}
	time.Sleep(200 * time.Millisecond)
	stopLoad()
	wg.Wait()
	if failed.Load() != 0 || done.Load() == 0 {
		t.Errorf("echo through the failovers: %d answered, %d failed (the first: %v)", done.Load(), failed.Load(), firstErr.Load())
	}
	t.Logf("failover after kill -9: %s (session timeout %s); handover on SIGTERM: %s; promotion: %s; %d requests answered, none failed",
		failover.Round(time.Millisecond), timeout, handover.Round(time.Millisecond), promotion.Round(time.Millisecond), done.Load())

	c.must("down")
	waitWithin(t, 10*time.Second, "every master to leave", func() bool { return len(mentioning(c.dir)) == 0 })
}

// servers is ls -o json by id.
func (c *testCluster) servers() map[string]admin.ServerStatus {
	c.t.Helper()
	var list []admin.ServerStatus
	if err := json.Unmarshal([]byte(c.must("ls", "-o", "json")), &list); err != nil {
		c.t.Fatal(err)
	}
	out := map[string]admin.ServerStatus{}
	for _, s := range list {
		out[s.ID] = s
	}
	return out
}

// waitWithin is waitFor with its own bound.
func waitWithin(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
	}
}

// httpGet is the body at addr's root, or "".
func httpGet(addr string) string {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get("http://" + addr + "/")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// mentioning lists the processes whose command line names s.
func mentioning(s string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killMentioning kills what a test left running: every process whose
// command line names its folder (standby masters are in no run record).
func killMentioning(s string) {
	for _, pid := range mentioning(s) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestFrozenLeader freezes the leader (SIGSTOP) past its session timeout:
// the standby takes over; when the old leader runs again (SIGCONT) it
// finds its term over before it acts, touches no server, and stands by.
func TestFrozenLeader(t *testing.T) {
	z := zktest.Start(t)
	const timeout = 2 * time.Second
	c := newTestCluster(t, haTopology(t, z.Addr, timeout))
	t.Cleanup(func() { killMentioning(c.dir) })
	c.must("up", c.file, "-d", "--timeout", "30s")
	before := c.servers()
	waitWithin(t, 10*time.Second, "the standby to answer as a standby", func() bool { return strings.Contains(httpGet(c.port(3006)), "is a standby master") })
	leader, err := c.runDir().Master()
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Signal(leader.Pid, leader.StartTime, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = proc.Signal(leader.Pid, leader.StartTime, syscall.SIGCONT) }()
	// ls only once the record names the new leader: asked of the frozen
	// one, it would wait out its timeout.
	waitWithin(t, timeout+10*time.Second, "master-server-2 to lead", func() bool {
		rec, err := c.runDir().Master()
		if err != nil || rec.ID != "master-server-2" {
			return false
		}
		code, _, _ := c.run("ls")
		return code == 0
	})
	// Frozen a while longer, while its servers' heartbeats to it go stale.
	time.Sleep(timeout)
	if err := proc.Signal(leader.Pid, leader.StartTime, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(httpGet(c.port(3005)), "is a standby master"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(c.runDir().Log("master"))
			t.Fatalf("the old leader does not stand by 10s after it woke; its log:\n%s", tail(string(log), 30))
		}
	}
	for id, s := range c.servers() {
		if b := before[id]; b.Pid != s.Pid || s.Restarts != 0 || s.State != "running" {
			t.Errorf("%s after the old leader woke: %+v; want pid %d running, no restart", id, s, b.Pid)
		}
	}
	if rec, _ := c.runDir().Master(); rec.ID != "master-server-2" {
		t.Errorf("the run directory records %s as the leader after the old one woke", rec.ID)
	}
	log, _ := os.ReadFile(c.runDir().Log("master"))
	if !strings.Contains(string(log), "no longer the leader") {
		t.Errorf("the old leader's log does not say it stopped acting:\n%s", tail(string(log), 20))
	}
	c.must("down")
	waitWithin(t, 10*time.Second, "every master to leave", func() bool { return len(mentioning(c.dir)) == 0 })
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
