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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/bench"
	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/engine/zookeeper"
	"github.com/pomeloctl/pomeloctl/internal/faultproxy"
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
	c, before := upHA(t, haTopology(t, z.Addr, timeout), "30s", 10*time.Second)

	// Clients echo through a backend throughout.
	load := echoLoad(t, c)
	defer load.stop()

	// Players chat in a room across the failover: every message pushed to
	// everyone in it, through chat servers and connectors the master does
	// not stand between.
	chat := chatAcross(c, 4*time.Second)
	time.Sleep(500 * time.Millisecond) // logged in, chatting

	_, killed := c.killLeader()
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

	checkChat(t, <-chat, "the failover")

	// The old leader, started again, stands by; SIGTERM to the new leader
	// hands over to it at once.
	old := c.startMaster("master-again")
	waitWithin(t, 10*time.Second, "master-server-1 to stand by", func() bool { return c.standingBy(3005) })
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
	sb := c.startMaster("standby-again", "--standby", "master-server-2")
	waitWithin(t, 10*time.Second, "master-server-2 to stand by", func() bool {
		_, out, _ := c.run("ls")
		return strings.Contains(out, "master-server-2") && strings.Contains(out, "standby")
	})
	_, out, _ := c.run("ls")
	if !strings.Contains(out, "MASTER") || !regexpMatch(`master-server-1\s+\S+\s+leader\s+connected\s+\d+`, out) || !regexpMatch(`master-server-2\s+\S+\s+standby\s+connected\s+-`, out) {
		t.Errorf("ls with a leader and a standby:\n%s", out)
	}
	var ms []admin.MasterStatus
	if err := json.Unmarshal([]byte(c.must("ls", "--masters", "-o", "json")), &ms); err != nil || len(ms) != 2 || ms[0].Role != "leader" || ms[0].Epoch == 0 || ms[1].Role != "standby" {
		t.Errorf("ls --masters -o json: %+v %v", ms, err)
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
	// A leader this host does not record (as one on another host): the
	// control commands ask ZooKeeper who leads.
	record := filepath.Join(string(c.runDir()), "master.json")
	if err := os.Rename(record, record+".away"); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := c.run("ls"); code != 0 || !regexpMatch(`master-server-2\s+\S+\s+leader`, out) {
		t.Errorf("ls with the leader known to ZooKeeper only: exit %d\n%s%s", code, out, errOut)
	}
	if err := os.Rename(record+".away", record); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	answered := load.check(t, "the failovers")
	t.Logf("failover after kill -9: %s (session timeout %s); handover on SIGTERM: %s; promotion: %s; %d requests answered, none failed",
		failover.Round(time.Millisecond), timeout, handover.Round(time.Millisecond), promotion.Round(time.Millisecond), answered)

	c.downHA(t, 3)
}

// chatAcross has 20 players chat in a room for d, 5 messages a second:
// every message pushed to everyone in it, through chat servers and
// connectors the master does not stand between.
func chatAcross(c *testCluster, d time.Duration) <-chan bench.FanoutResult {
	chat := make(chan bench.FanoutResult, 1)
	go func() {
		res, err := bench.Fanout(context.Background(), bench.FanoutConfig{Login: bench.Login{Gate: c.port(3014)}, Users: 20, Rate: 5, Duration: d})
		if res == nil {
			res = &bench.FanoutResult{}
		}
		if err != nil {
			res.FirstErr = err.Error()
			res.SendErrors++
		}
		chat <- *res
	}()
	return chat
}

// checkChat fails the test unless every message sent was, and every push
// delivered.
func checkChat(t *testing.T, res bench.FanoutResult, during string) {
	t.Helper()
	if res.SendErrors != 0 || res.Sent == 0 || res.Delivered != res.Expected {
		t.Errorf("chat across %s: %d sent, %d failed, %d of %d pushes delivered (%s)", during, res.Sent, res.SendErrors, res.Delivered, res.Expected, res.FirstErr)
	}
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
	c, before := upHA(t, haTopology(t, z.Addr, timeout), "30s", 10*time.Second)
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
	for deadline := time.Now().Add(10 * time.Second); !c.standingBy(3005); time.Sleep(20 * time.Millisecond) {
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
	c.downHA(t, 2)
}

// waitGoneAll waits until nothing of the cluster runs any more: servers,
// masters, a managed ZooKeeper.
func waitGoneAll(t *testing.T, c *testCluster) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); len(mentioning(c.dir)) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			var left []string
			for _, pid := range mentioning(c.dir) {
				b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				left = append(left, fmt.Sprintf("%d: %s", pid, strings.ReplaceAll(string(b), "\x00", " ")))
			}
			m1, _ := os.ReadFile(c.runDir().Log("master"))
			t.Fatalf("15s after down, these still run:\n%s\nthe first master's log:\n%s", strings.Join(left, "\n"), tail(string(m1), 15))
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// startMaster starts `pomeloctl master` on the cluster's topology by hand,
// with args, logging to name.log in its folder; it is killed when the
// test ends, if it has not left.
func (c *testCluster) startMaster(name string, args ...string) *exec.Cmd {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"master", c.file, "--port-offset", strconv.Itoa(c.offset), "--run-dir", string(c.runDir())}, args...)...)
	logf, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); logf.Close() }()
	c.t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd
}

// load is clients echoing through a backend until stopped, counting what
// was answered and what failed.
type load struct {
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	done, failed atomic.Int64
	first        atomic.Value
}

// echoLoad starts four clients on the three connectors, each with one
// request in flight, one every 5ms.
func echoLoad(t *testing.T, c *testCluster) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	for i := range 4 {
		l.wg.Go(func() {
			cl, err := client.Dial(ctx, c.port(3050+i%3), client.Options{})
			if err != nil {
				l.first.CompareAndSwap(nil, err.Error())
				l.failed.Add(1)
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
					l.first.CompareAndSwap(nil, err.Error())
					l.failed.Add(1)
				} else {
					l.done.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	return l
}

func (l *load) stop() { l.cancel(); l.wg.Wait() }

// check stops the load and fails the test if a request failed or none
// was answered; it gives how many were.
func (l *load) check(t *testing.T, during string) int64 {
	t.Helper()
	l.stop()
	if l.failed.Load() != 0 || l.done.Load() == 0 {
		t.Errorf("echo through %s: %d answered, %d failed (the first: %v)", during, l.done.Load(), l.failed.Load(), l.first.Load())
	}
	return l.done.Load()
}

// stillOne checks that one master leads and acts, the other stands by,
// every server is the process it was, and the load has not failed.
func stillOne(t *testing.T, c *testCluster, before map[string]admin.ServerStatus, leader string) {
	t.Helper()
	waitWithin(t, 15*time.Second, leader+" to lead and answer", func() bool {
		rec, err := c.runDir().Master()
		if err != nil || rec.ID != leader {
			return false
		}
		code, _, _ := c.run("ls")
		return code == 0
	})
	for id, s := range c.servers() {
		if b := before[id]; b.Pid != s.Pid || s.Restarts != 0 || s.State != "running" {
			t.Errorf("%s: %+v; want pid %d running, no restart", id, s, b.Pid)
		}
	}
}

// ZooKeeper restarted under a running cluster: the leader's session
// survives (the restart is shorter than its timeout), so nothing moves:
// the same leader, no server touched, no request failed.
func TestZooKeeperRestartUnderACluster(t *testing.T) {
	z := zktest.Start(t)
	const timeout = 6 * time.Second
	c, before := upHA(t, haTopology(t, z.Addr, timeout), "30s", 10*time.Second)
	leader, _ := c.runDir().Master()
	l := echoLoad(t, c)
	defer l.stop()
	z.Restart()
	time.Sleep(timeout) // past the session timeout, from the restart
	stillOne(t, c, before, "master-server-1")
	if rec, _ := c.runDir().Master(); rec.Pid != leader.Pid {
		t.Errorf("the leader changed across a ZooKeeper restart: pid %d, then %d", leader.Pid, rec.Pid)
	}
	if !c.standingBy(3006) {
		t.Error("the standby does not stand by after the restart")
	}
	l.check(t, "a ZooKeeper restart")
	c.downHA(t, 1)
}

// The leader cut off from ZooKeeper (a fault proxy between them), while
// servers still reach it: it stops acting on its own clock before the
// standby is elected, the standby adopts the servers, and when the way to
// ZooKeeper heals the old leader stands by. Never two leaders.
func TestLeaderCutOffFromZooKeeper(t *testing.T) {
	z := zktest.Start(t)
	proxy := faultproxy.Start(t, z.Addr)
	const timeout = 2 * time.Second
	c, before := upHA(t, haTopology(t, proxy.Addr, timeout), "30s", 10*time.Second)
	// The standby up started talks through the proxy too: replace it
	// with one that reaches ZooKeeper directly.
	killStandby(t, c, "master-server-2")
	sb := c.startMaster("standby-direct", "--standby", "master-server-2", "--zookeeper", z.Addr)
	waitWithin(t, 10*time.Second, "the direct standby to stand by", func() bool { return c.standingBy(3006) })
	l := echoLoad(t, c)
	defer l.stop()

	proxy.Cut()
	stillOne(t, c, before, "master-server-2")
	if rec, _ := c.runDir().Master(); rec.Pid != sb.Process.Pid {
		t.Errorf("the run directory names pid %d, not the standby's %d", rec.Pid, sb.Process.Pid)
	}
	stepped, elected := logTime(t, c.runDir().Log("master"), "no longer the leader"), logTime(t, filepath.Join(c.dir, "standby-direct.log"), "elected leader")
	if !stepped.Before(elected) {
		t.Errorf("the old leader stopped acting at %s, the new one was elected at %s: two leaders", stepped.Format(time.StampMilli), elected.Format(time.StampMilli))
	}
	proxy.Heal()
	waitWithin(t, 15*time.Second, "the old leader to stand by", func() bool { return c.standingBy(3005) })
	l.check(t, "the leader cut off")
	t.Logf("the old leader stopped acting %s before the new one was elected", elected.Sub(stepped).Round(time.Millisecond))
	c.downHA(t, 2)
}

// killStandby kills the standby master id that up started.
func killStandby(t *testing.T, c *testCluster, id string) {
	t.Helper()
	for _, pid := range mentioning(c.dir) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(b), "--standby\x00"+id) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	waitWithin(t, 10*time.Second, id+" to go", func() bool { return httpGet(c.port(3006)) == "" })
}

// logTime is when the first line of a master's log that says what was
// written.
func logTime(t *testing.T, path, what string) time.Time {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, what) && strings.HasPrefix(line, "time=") {
			ts, err := time.Parse(time.RFC3339Nano, strings.Fields(line)[0][len("time="):])
			if err == nil {
				return ts
			}
		}
	}
	t.Fatalf("no %q in %s:\n%s", what, path, tail(string(b), 20))
	return time.Time{}
}

// Twenty handovers in a row between two masters (promotions), the
// election's sequence numbers crossing 9 → 10 and 99 → 100 on the way:
// each time one leader, every server the process it was, nothing failed.
func TestTwentyHandovers(t *testing.T) {
	z := zktest.Start(t)
	c, before := upHA(t, haTopology(t, z.Addr, 2*time.Second), "30s", 10*time.Second)
	padSequence(t, z.Addr, "/pomeloctl/"+strings.ReplaceAll(t.Name(), "/", "-")+"/election", 6)
	l := echoLoad(t, c)
	defer l.stop()
	leader := "master-server-1"
	var seqs []int64
	for i := range 20 {
		if i == 8 {
			padSequence(t, z.Addr, "/pomeloctl/"+strings.ReplaceAll(t.Name(), "/", "-")+"/election", 80)
		}
		next := map[string]string{"master-server-1": "master-server-2", "master-server-2": "master-server-1"}[leader]
		waitWithin(t, 10*time.Second, next+" to stand by", func() bool {
			_, out, _ := c.run("ls")
			return regexpMatch(next+`\s+\S+\s+standby`, out)
		})
		c.must("promote", next)
		stillOne(t, c, before, next)
		leader = next
		seqs = append(seqs, sequences(t, z.Addr, "/pomeloctl/"+strings.ReplaceAll(t.Name(), "/", "-")+"/election")...)
	}
	if !slices.Contains(seqs, 9) || !slices.Contains(seqs, 10) || !slices.Contains(seqs, 99) || !slices.Contains(seqs, 100) {
		t.Errorf("the masters' sequence numbers %v did not cross 9 → 10 and 99 → 100", seqs)
	}
	l.check(t, "twenty handovers")
	c.downHA(t, 21)
}

// padSequence makes and removes n sequential nodes under path, moving
// its sequence counter on.
func padSequence(t *testing.T, zkAddr, path string, n int) {
	t.Helper()
	conn := zkConn(t, zkAddr)
	for range n {
		p, err := conn.Create(path+"/pad-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Delete(p, -1); err != nil {
			t.Fatal(err)
		}
	}
}

// sequences are the sequence numbers of the election's nodes.
func sequences(t *testing.T, zkAddr, path string) []int64 {
	t.Helper()
	names, _, err := zkConn(t, zkAddr).Children(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, n := range names {
		if seq, ok := ha.Sequence(n); ok {
			out = append(out, seq)
		}
	}
	return out
}

// zkConn is a client of the ZooKeeper at zkAddr, closed when the test
// ends.
func zkConn(t *testing.T, zkAddr string) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect([]string{zkAddr}, 5*time.Second, zk.WithLogger(quietZK{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

type quietZK struct{}

func (quietZK) Printf(string, ...any) {}

// With ha.zookeeper: managed, up -d runs a ZooKeeper in the run
// directory before the masters, runs it again when it dies, and down
// stops it last.
func TestManagedZookeeper(t *testing.T) {
	text := strings.Replace(chatTopology(t), "# Every server runs", "ha:\n  zookeeper: managed\n  standbys:\n    - {id: master-server-2, host: 127.0.0.1, port: 3006}\n\n# Every server runs", 1)
	c, _ := upHA(t, text, "60s", 15*time.Second)
	rec, err := c.runDir().Helper("zookeeper")
	if err != nil || !rec.Alive() || rec.Addr != c.port(2281) {
		t.Fatalf("the managed ZooKeeper's record: %+v %v; want a live one on %s", rec, err, c.port(2281))
	}
	if _, out, _ := c.run("ls"); !regexpMatch(`master-server-1\s+\S+\s+leader`, out) {
		t.Errorf("ls:\n%s", out)
	}
	// Its Java process killed: the supervisor runs it again.
	for _, pid := range mentioning(filepath.Join(string(c.runDir()), "zookeeper", "zoo.cfg")) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	waitWithin(t, 20*time.Second, "ZooKeeper to run again", func() bool {
		return len(mentioning(filepath.Join(string(c.runDir()), "zookeeper", "zoo.cfg"))) > 0 && zookeeperReady(c.port(2281))
	})
	c.downHA(t, 1)
}

func zookeeperReady(addr string) bool { return zookeeper.Ready(addr) }

// TestEnsembleFailover runs the masters on a 3-node ZooKeeper ensemble
// and kills one ZooKeeper node, then the leader with -9: the standby takes
// over on the two nodes left, every server adopted, no request failed.
// Behind a flag (three more JVMs): PCTL_TEST_ENSEMBLE=1.
func TestEnsembleFailover(t *testing.T) {
	if os.Getenv("PCTL_TEST_ENSEMBLE") == "" {
		t.Skip("set PCTL_TEST_ENSEMBLE=1 to run master HA against a 3-node ZooKeeper ensemble")
	}
	zks := zktest.StartEnsemble(t, 3)
	addrs := zks[0].Addr + "," + zks[1].Addr + "," + zks[2].Addr
	const timeout = 4 * time.Second
	c, before := upHA(t, haTopology(t, addrs, timeout), "60s", 15*time.Second)
	l := echoLoad(t, c)
	defer l.stop()
	zks[0].Kill()
	time.Sleep(timeout) // the masters' sessions move to the nodes left
	stillOne(t, c, before, "master-server-1")
	_, killed := c.killLeader()
	stillOne(t, c, before, "master-server-2")
	t.Logf("failover on two of three ZooKeeper nodes: %s (session timeout %s)", time.Since(killed).Round(time.Millisecond), timeout)
	l.check(t, "a ZooKeeper node and the leader killed")
	c.downHA(t, 2)
}

// down while the leader is dead and before a standby is elected stops
// every server from the run directory, and marks the cluster down in
// ZooKeeper first: the standby, elected after, leaves instead of starting
// the cluster again.
func TestDownWithoutALeader(t *testing.T) {
	z := zktest.Start(t)
	c, _ := upHA(t, haTopology(t, z.Addr, 2*time.Second), "30s", 10*time.Second)
	leader, _ := c.runDir().Master()
	if err := proc.Signal(leader.Pid, leader.StartTime, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, leader.Pid, leader.StartTime)
	c.must("down")
	waitGoneAll(t, c)
	time.Sleep(3 * time.Second) // past the session: had the standby led, it would have started servers
	if left := mentioning(c.dir); len(left) != 0 {
		t.Errorf("after down, %d processes of the cluster run again", len(left))
	}
}

// pomeloctl import of lordofpomelo (masterha.json: two standbys) gives a
// topology that runs, with master HA on a managed ZooKeeper: three
// masters, one leading, failing over when it is killed.
func TestImportedLordofpomeloRunsWithHA(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "topology.yaml")
	if code, _, errOut := pomeloctl(t, "import", "../../testdata/pomelo/lordofpomelo", "-o", file); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Pomelo's default ZooKeeper (127.0.0.1:2181) is a developer's own:
	// the test runs a managed one instead.
	text := regexp.MustCompile(`(?m)^  zookeeper:\n    - 127\.0\.0\.1:2181\n`).ReplaceAllString(string(data), "  zookeeper: managed\n  sessionTimeout: 4s\n")
	if text == string(data) {
		t.Fatalf("the import's ha section is not as expected:\n%s", data)
	}
	c := newTestCluster(t, text)
	t.Cleanup(func() { killMentioning(c.dir) })
	c.must("up", c.file, "-d", "--timeout", "60s")
	before := c.servers()
	waitWithin(t, 20*time.Second, "both standbys to stand by", func() bool {
		_, out, _ := c.run("ls", "--masters")
		return strings.Count(out, "standby") == 2
	})
	leader, _ := c.killLeader()
	waitWithin(t, 20*time.Second, "a standby to lead", func() bool {
		rec, err := c.runDir().Master()
		if err != nil || rec.ID == leader.ID {
			return false
		}
		code, _, _ := c.run("ls")
		return code == 0
	})
	for id, s := range c.servers() {
		if b := before[id]; b.Pid != s.Pid || s.Restarts != 0 {
			t.Errorf("%s across the failover: %+v; want pid %d", id, s, b.Pid)
		}
	}
	c.downHA(t, 2)
	waitGoneAll(t, c)
}

// upHA brings the cluster of topology up with up -d (within upWithin),
// waits (within standbyWithin) for its standby master to stand by, and
// gives its servers as they then are. Whatever of it still runs when the
// test ends is killed.
func upHA(t *testing.T, topology, upWithin string, standbyWithin time.Duration) (*testCluster, map[string]admin.ServerStatus) {
	t.Helper()
	c := newTestCluster(t, topology)
	t.Cleanup(func() { killMentioning(c.dir) })
	c.must("up", c.file, "-d", "--timeout", upWithin)
	before := c.servers()
	waitWithin(t, standbyWithin, "the standby to stand by", func() bool { return c.standingBy(3006) })
	return c, before
}

// downHA brings the cluster down, waits until nothing of it runs, and
// checks the masters' logs (those of the run directory, those started by
// hand in the cluster's folder, and extra): at least leaders masters
// acted, one at a time (oneActingAtATime).
func (c *testCluster) downHA(t *testing.T, leaders int, extra ...string) {
	t.Helper()
	c.must("down")
	waitGoneAll(t, c)
	logs, _ := filepath.Glob(filepath.Join(string(c.runDir()), "logs", "master*.log"))
	byHand, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	oneActingAtATime(t, leaders, append(append(logs, byHand...), extra...)...)
}

// oneActingAtATime checks the masters' logs: every action a master took
// on the cluster (a launch, a stop, a kill, a restart scheduled: "leader
// acting"; an admin command answered), all masters' together in time
// order, carries an epoch no lower than the one before, and each epoch is
// one master's. So no master acted once a newer leader had, and never two
// at once. At least leaders masters must have acted.
func oneActingAtATime(t testing.TB, leaders int, logs ...string) {
	t.Helper()
	type action struct {
		at     time.Time
		master string
		epoch  int
		line   string
	}
	re := regexp.MustCompile(`^time=(\S+) .*msg="?(leader acting|admin command)"? .*\bmaster=(\S+)\b.*\bepoch=(\d+)`)
	var all []action
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("a master's log: %v", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			m := re.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			epoch, _ := strconv.Atoi(m[4])
			all = append(all, action{at, m[3], epoch, line})
		}
	}
	slices.SortStableFunc(all, func(a, b action) int { return a.at.Compare(b.at) })
	owner := map[int]string{}
	for i, a := range all {
		if o, ok := owner[a.epoch]; ok && o != a.master {
			t.Errorf("epoch %d acted as %s and as %s:\n%s", a.epoch, o, a.master, a.line)
		}
		owner[a.epoch] = a.master
		if i > 0 && a.epoch < all[i-1].epoch && a.at.After(all[i-1].at) {
			t.Errorf("%s (epoch %d) acted after %s (epoch %d) had:\n%s\n%s", a.master, a.epoch, all[i-1].master, all[i-1].epoch, all[i-1].line, a.line)
		}
	}
	if len(owner) < leaders {
		t.Errorf("the masters' logs show %d leaders acting, want at least %d: %v", len(owner), leaders, owner)
	}
}

// killLeader kills the master the run directory records with -9, and
// gives its record and when it was killed.
func (c *testCluster) killLeader() (master.MasterRecord, time.Time) {
	c.t.Helper()
	leader, err := c.runDir().Master()
	if err != nil {
		c.t.Fatal(err)
	}
	killed := time.Now()
	if err := proc.Signal(leader.Pid, leader.StartTime, syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	return leader, killed
}

// standingBy reports whether the master on port (before the offset)
// answers as a standby.
func (c *testCluster) standingBy(port int) bool {
	return strings.Contains(httpGet(c.port(port)), "is a standby master")
}

// errorsOf records a test's errors instead of failing it.
type errorsOf struct {
	testing.TB
	errs []string
}

func (e *errorsOf) Errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

// The check of the masters' logs catches a master that acted after a
// newer leader had, and an epoch two masters claim.
func TestOneActingAtATimeCatchesTwoLeaders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.log", `time=2026-12-07T05:00:00.000Z level=INFO msg="leader acting" master=m1 server=s action=launch epoch=1
time=2026-12-07T05:00:02.000Z level=INFO msg="leader acting" master=m1 server=s action=kill epoch=1
`)
	b := write("b.log", `time=2026-12-07T05:00:01.000Z level=INFO msg="admin command" master=m2 epoch=2 user=admin module=kill args={}
time=2026-12-07T05:00:03.000Z level=INFO msg="leader acting" master=m3 server=s action=stop epoch=2
`)
	rec := &errorsOf{TB: t}
	oneActingAtATime(rec, 2, a, b)
	if got := strings.Join(rec.errs, "\n"); !strings.Contains(got, "m1 (epoch 1) acted after m2 (epoch 2)") || !strings.Contains(got, "epoch 2 acted as m2 and as m3") {
		t.Errorf("the check said:\n%s", got)
	}
	rec = &errorsOf{TB: t}
	oneActingAtATime(rec, 2, b)
	if len(rec.errs) != 2 { // m2 and m3 in one epoch; one epoch, not two
		t.Errorf("the check of one log said: %q", rec.errs)
	}
}
