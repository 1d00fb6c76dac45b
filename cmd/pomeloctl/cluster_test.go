package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/launch"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/internal/testbin"
	"github.com/pomeloctl/pomeloctl/internal/testlog"
)

// These tests run the real thing: the pomeloctl binary, a master process
// and one process per server, on loopback ports shifted by --port-offset so
// that test runs do not clash. Every process a test starts is accounted
// for: the test records each pid (with its start time) it ever sees, and
// checks at the end that none is left.

var (
	binOnce  sync.Once
	binPath  string
	binErr   error
	chatOnce sync.Once
	chatPath string
	chatErr  error
)

// chatGame builds the chat example's game once for the package's tests.
func chatGame(t testing.TB) string {
	t.Helper()
	chatOnce.Do(func() { chatPath, chatErr = testbin.Build("../../examples/chat") })
	if chatErr != nil {
		t.Fatal(chatErr)
	}
	return chatPath
}

// binary builds pomeloctl once for the package's tests.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() { binPath, binErr = testbin.Build(".") })
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// testCluster is the chat example copied to a temporary folder (its run
// directory goes there too) with a port offset no other test uses.
type testCluster struct {
	t      testing.TB
	bin    string
	dir    string
	file   string
	offset int
	env    []string       // more of the commands' environment
	ever   map[int]uint64 // every server and master pid seen, with its start time
	mu     sync.Mutex
}

// chatPorts are the ports the chat example uses, before the offset.
var chatPorts = []int{2281, 6479, 3001, 3005, 3006, 3014, 3050, 3051, 3052, 4050, 4051, 4052, 6050, 6051, 6052, 6053, 3053, 4053}

func newTestCluster(t testing.TB, topology string) *testCluster {
	t.Helper()
	c := &testCluster{t: t, bin: binary(t), dir: t.TempDir(), ever: map[int]uint64{}}
	for _, f := range []string{"serverProtos.json"} {
		data, err := os.ReadFile(filepath.Join("../../examples/chat", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := testbin.Link(chatGame(t), c.dir, "chat"); err != nil {
		t.Fatal(err)
	}
	// The page its web section serves, and its profiles (-p global, -p
	// groups).
	for _, name := range []string{"web", "profiles"} {
		src, err := filepath.Abs("../../examples/chat/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(src, filepath.Join(c.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	c.file = filepath.Join(c.dir, "topology.yaml")
	if err := os.WriteFile(c.file, []byte(topology), 0o644); err != nil {
		t.Fatal(err)
	}
	c.offset = freeOffset(t)
	t.Cleanup(c.cleanup)
	return c
}

func chatTopology(t testing.TB) string {
	data, err := os.ReadFile(chat)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// freeOffset finds a port offset at which every chat port is free.
func freeOffset(t testing.TB) int {
	off, err := freeport.Offset(chatPorts...)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

// run runs the binary with the cluster's topology and offset and returns
// its exit status, stdout and stderr. The topology is named (control
// commands guess none in tests: see TestMain).
func (c *testCluster) run(args ...string) (int, string, string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(args, "--port-offset", strconv.Itoa(c.offset))...)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), "POMELOCTL_TOPOLOGY="+c.file), c.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// must runs a command that must succeed.
func (c *testCluster) must(args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != 0 {
		c.t.Fatalf("pomeloctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// ls lists the servers, noting every pid.
func (c *testCluster) ls() map[string]admin.ServerStatus {
	c.t.Helper()
	var list []admin.ServerStatus
	if err := json.Unmarshal([]byte(c.must("ls", "-o", "json")), &list); err != nil {
		c.t.Fatal(err)
	}
	byID := map[string]admin.ServerStatus{}
	for _, s := range list {
		byID[s.ID] = s
		if s.Pid != 0 {
			c.note(s.Pid)
		}
	}
	return byID
}

func (c *testCluster) note(pid int) {
	st, err := proc.StartTime(pid)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ever[pid] = st
}

func (c *testCluster) runDir() master.RunDir {
	return master.RunDir(filepath.Join(c.dir, ".pomeloctl", strconv.Itoa(3005+c.offset)))
}

// masterPid is the running master's pid, from the run directory.
func (c *testCluster) masterPid() int {
	c.t.Helper()
	rec, err := c.runDir().Master()
	if err != nil {
		c.t.Fatal(err)
	}
	c.note(rec.Pid)
	return rec.Pid
}

// alive lists the pids seen that still run.
func (c *testCluster) alive() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for pid, st := range c.ever {
		if proc.Alive(pid, st) {
			out = append(out, pid)
		}
	}
	return out
}

// waitNoneAlive waits until no process the test saw runs.
func (c *testCluster) waitNoneAlive(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if len(c.alive()) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Errorf("processes of the cluster still alive: %v", c.alive())
}

// cleanup kills whatever a failed test left behind.
func (c *testCluster) cleanup() {
	if recs, err := c.runDir().Servers(); err == nil {
		for _, r := range recs {
			c.ever[r.Pid] = r.StartTime
		}
	}
	if rec, err := c.runDir().Master(); err == nil {
		c.ever[rec.Pid] = rec.StartTime
	}
	// The web server's supervisor; the file server it runs leaves with it.
	if rec, err := c.runDir().Helper("web"); err == nil {
		c.ever[rec.Pid] = rec.StartTime
	}
	for pid, st := range c.ever {
		_ = proc.KillGroup(pid, st, syscall.SIGKILL)
	}
}

func (c *testCluster) port(p int) string { return "127.0.0.1:" + strconv.Itoa(p+c.offset) }

func running(t *testing.T, servers map[string]admin.ServerStatus, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if s := servers[id]; s.State != "running" || s.Pid == 0 || !proc.Alive(s.Pid, mustStart(s.Pid)) {
			t.Errorf("%s: want running with a live pid, got %+v", id, s)
		}
	}
}

func mustStart(pid int) uint64 {
	st, _ := proc.StartTime(pid)
	return st
}

// queryEntry asks the gate for uid's connector, as chatofpomelo does.
func queryEntry(ctx context.Context, t *testing.T, g *client.Client, uid string) string {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := g.Request(rctx, "gate.gateHandler.queryEntry", []byte(`{"uid":"`+uid+`"}`))
	if err != nil {
		t.Fatalf("queryEntry: %v", err)
	}
	return string(resp)
}

// TestClusterLifecycle drives a whole cluster through the CLI: up -d, ls,
// kill, restart, add, stop, logs, a second up, the master killed with -9
// and adopted by the next up without a client noticing, the master killed
// again, and down, which must leave no process behind.
func TestClusterLifecycle(t *testing.T) {
	c := newTestCluster(t, chatTopology(t))
	out := c.must("up", c.file, "-d", "--timeout", "30s")
	if !strings.Contains(out, "cluster ready in") || !strings.Contains(out, "connector-server-3") {
		t.Errorf("up -d: want the table and the ready line, got:\n%s", out)
	}
	all := []string{"gate-server-1", "connector-server-1", "connector-server-2", "connector-server-3", "chat-server-1", "chat-server-2", "chat-server-3"}
	servers := c.ls()
	running(t, servers, all...)
	c.masterPid()

	// Heartbeats carry each server's stats to ls.
	waitFor(t, "every server's RSS in ls", func() bool {
		for _, s := range c.ls() {
			if s.RSS <= 0 {
				return false
			}
		}
		return true
	})
	// Every server runs its afterStartAll hooks once all are up.
	waitFor(t, "afterStartAll on chat-server-3", func() bool {
		return strings.Contains(c.must("logs", "chat-server-3", "-n", "100"), "command=afterStartAll")
	})

	// A second up says the cluster runs, and starts nothing.
	code, _, errOut := c.run("up", c.file, "-d")
	if code != 1 || !strings.Contains(errOut, "already running") {
		t.Errorf("a second up: exit %d, %s", code, errOut)
	}

	// kill: the process group dies and the server stays down.
	victim := servers["connector-server-2"].Pid
	c.must("kill", "connector-server-2")
	if proc.Alive(victim, c.ever[victim]) {
		t.Error("kill returned while the server runs")
	}
	servers = c.ls()
	if s := servers["connector-server-2"]; s.State != "stopped" || s.Pid != 0 {
		t.Errorf("after kill: %+v", s)
	}
	seenBy(t, c, "gate-server-1", "left=[connector-server-2]")

	// restart: a new process that registers.
	c.must("restart", "connector-server-2")
	servers = c.ls()
	running(t, servers, "connector-server-2")
	if servers["connector-server-2"].Pid == victim {
		t.Error("restart kept the old pid")
	}

	// add: a fourth chat server, its ports chosen past the type's.
	var added admin.ServerStatus
	if err := json.Unmarshal([]byte(c.must("add", "--type", "chat", "-o", "json")), &added); err != nil {
		t.Fatal(err)
	}
	if added.ID != "chat-server-4" || added.Port != 6053+c.offset || added.State != "running" {
		t.Errorf("add: %+v", added)
	}
	seenBy(t, c, "connector-server-1", "joined=[chat-server-4]")
	code, _, errOut = c.run("add", "--type", "chat", "--port", strconv.Itoa(6050+c.offset))
	if code != 1 || !strings.Contains(errOut, "already taken by chat-server-1") {
		t.Errorf("add on a taken port: exit %d, %s", code, errOut)
	}
	code, _, errOut = c.run("add", "--type", "nosuch")
	if code != 1 || !strings.Contains(errOut, `no server type "nosuch"`) {
		t.Errorf("add of an unknown type: exit %d, %s", code, errOut)
	}

	// stop: graceful, and the server's log says so.
	c.must("stop", "chat-server-1")
	if s := c.ls()["chat-server-1"]; s.State != "stopped" {
		t.Errorf("after stop: %+v", s)
	}
	// A process with the wrong token is refused, and the master says so
	// (chat-server-1 is stopped, so its ports are free).
	serve := exec.Command(c.bin, "serve", c.file, "--id", "chat-server-1", "--port-offset", strconv.Itoa(c.offset))
	serve.Env = append(os.Environ(), launch.EnvMaster+"="+c.port(3005), launch.EnvToken+"=guess")
	if out, err := serve.CombinedOutput(); err == nil || !strings.Contains(string(out), "wrong token") {
		t.Errorf("serve with the wrong token: %v\n%s", err, out)
	}
	if log := c.must("logs", "master", "-n", "100"); !strings.Contains(log, `msg="monitor: refused a server" master=master-server-1 id=chat-server-1`) {
		t.Errorf("the master's log does not name the refused server:\n%s", log)
	}
	logs := c.must("logs", "chat-server-1", "-n", "5")
	if !strings.Contains(logs, `msg="server stopped"`) {
		t.Errorf("logs: want the server's last lines, got:\n%s", logs)
	}
	var chunk admin.LogChunk
	if err := json.Unmarshal([]byte(c.must("logs", "chat-server-1", "-n", "1", "-o", "json")), &chunk); err != nil ||
		!strings.Contains(chunk.Data, `msg="server stopped"`) || chunk.Next <= 0 || !strings.HasSuffix(chunk.Path, "chat-server-1.log") {
		t.Errorf("logs -o json: %+v %v", chunk, err)
	}
	// logs -f streams what the master writes from then on.
	follow := exec.Command(c.bin, "logs", "master", "-f", "-n", "1", "--port-offset", strconv.Itoa(c.offset))
	follow.Env = append(os.Environ(), "POMELOCTL_TOPOLOGY="+c.file)
	followed := &testlog.Buffer{}
	follow.Stdout = followed
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "logs -f to print the last line", func() bool { return followed.String() != "" })
	code, _, errOut = c.run("kill", "nosuch")
	if code != 1 || !strings.Contains(errOut, `no server "nosuch"`) {
		t.Errorf("kill nosuch: exit %d, %s", code, errOut)
	}
	waitFor(t, "logs -f to print the refused kill", func() bool {
		return strings.Contains(followed.String(), `msg="admin command failed"`) && strings.Contains(followed.String(), "module=kill")
	})
	_ = follow.Process.Signal(os.Interrupt)
	if err := follow.Wait(); err != nil {
		t.Errorf("logs -f after Ctrl-C: %v; want exit 0", err)
	}

	// A client of the gate, which must not notice the master's death.
	ctx := context.Background()
	gate, err := client.Dial(ctx, c.port(3014), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	before := queryEntry(ctx, t, gate, "alice")

	// kill -9 the master: the servers live on, and the CLI says there is
	// no master.
	servers = c.ls()
	mpid := c.masterPid()
	if err := syscall.Kill(mpid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, mpid, c.ever[mpid])
	code, _, errOut = c.run("ls")
	if code != exitUnreachable || !strings.Contains(errOut, "is gone") {
		t.Errorf("ls without a master: exit %d, %s", code, errOut)
	}
	running(t, servers, "gate-server-1", "connector-server-1", "chat-server-4")

	// up adopts them: same pids, and the gate's client is still there.
	c.must("up", c.file, "-d", "--timeout", "30s")
	adopted := c.ls()
	for id, s := range servers {
		if s.State == "running" && adopted[id].Pid != s.Pid {
			t.Errorf("%s: pid %d before the master died, %d after up: not adopted", id, s.Pid, adopted[id].Pid)
		}
	}
	// up brings the whole cluster up: what runs is adopted, the rest starts.
	running(t, adopted, "chat-server-1", "chat-server-4")
	select {
	case <-gate.Done():
		t.Error("the gate's client was disconnected")
	default:
	}
	if after := queryEntry(ctx, t, gate, "alice"); after != before {
		t.Errorf("queryEntry after adoption: %s, before: %s", after, before)
	}

	// An adopted server is not the master's child: its death is still seen.
	orphan := adopted["chat-server-2"]
	if err := syscall.Kill(orphan.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, "chat-server-2", "exited")

	// kill -9 the master again, then down: nothing may be left.
	mpid = c.masterPid()
	if err := syscall.Kill(mpid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, mpid, c.ever[mpid])
	out = c.must("down")
	if !strings.Contains(out, "the master was gone") {
		t.Errorf("down without a master: %s", out)
	}
	c.waitNoneAlive(5 * time.Second)
	if _, err := c.runDir().Master(); err == nil {
		t.Error("down left master.json")
	}
}

// seenBy waits until server id's log shows a membership change: every
// server learns who joins and leaves.
func seenBy(t *testing.T, c *testCluster, id, change string) {
	t.Helper()
	waitFor(t, id+" seeing "+change, func() bool {
		return strings.Contains(c.must("logs", id, "-n", "100"), `msg="monitor: the cluster changed"`) &&
			strings.Contains(c.must("logs", id, "-n", "100"), change)
	})
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitGone(t *testing.T, pid int, st uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for proc.Alive(pid, st) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitState(t *testing.T, c *testCluster, id, state string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := c.ls()[id]
		if s.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %s, got %+v", id, state, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUpForeground runs up in the foreground: prefixed log lines, progress,
// the table, and Ctrl-C stopping every process; and the same with master
// HA and a managed ZooKeeper, where Ctrl-C stops the standby and ZooKeeper
// too.
func TestUpForeground(t *testing.T) {
	t.Run("one master", func(t *testing.T) { upForegroundAndInterrupt(t, chatTopology(t), nil) })
	t.Run("ha", func(t *testing.T) {
		top := strings.Replace(chatTopology(t), "# Every server runs", "ha:\n  zookeeper: managed\n  standbys:\n    - {id: master-server-2, host: 127.0.0.1, port: 3006}\n\n# Every server runs", 1)
		upForegroundAndInterrupt(t, top, []string{"standby master master-server-2: pid", "elected after the cluster was brought down: leaving", "ZooKeeper stopped"})
	})
}

// upForegroundAndInterrupt runs up on topology in the foreground, checks
// its output (with more wants in it, before or after Ctrl-C), then sends
// Ctrl-C and checks that nothing is left.
func upForegroundAndInterrupt(t *testing.T, topology string, more []string) {
	c := newTestCluster(t, topology)
	t.Cleanup(func() { killMentioning(c.dir) })
	cmd := exec.Command(c.bin, "up", c.file, "--port-offset", strconv.Itoa(c.offset))
	cmd.Dir = c.dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.note(cmd.Process.Pid)
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	timeout := time.After(30 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("up ended early:\n%s\n%s", strings.Join(seen, "\n"), stderr.String())
			}
			seen = append(seen, l)
			text := strings.Join(seen, "\n")
			if strings.Contains(text, "cluster ready in") && strings.Contains(text, "chat-server-3      | time=") {
				break wait
			}
		case <-timeout:
			t.Fatalf("not ready:\n%s", strings.Join(seen, "\n"))
		}
	}
	text := strings.Join(seen, "\n")
	for _, want := range []string{"[7/7 running]", "chat-server-3 running (registered after", `chat-server-3      | time=`, "connector-server-3  connector  running"} {
		if !strings.Contains(text, want) {
			t.Errorf("foreground output: want %q in:\n%s", want, text)
		}
	}
	c.ls()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("up after Ctrl-C: %v\n%s", err, stderr.String())
	}
	if tail := strings.Join(rest, "\n"); !strings.Contains(tail, "cluster stopped") {
		t.Errorf("after Ctrl-C: want 'cluster stopped' in:\n%s", tail)
	}
	all := strings.Join(append(seen, rest...), "\n")
	for _, want := range more {
		if !strings.Contains(all, want) {
			t.Errorf("want %q in:\n%s", want, all)
		}
	}
	c.waitNoneAlive(5 * time.Second)
	waitGoneAll(t, c)
}

// TestUpNamesAServerThatDoesNotComeUp: a type whose command fails is named
// with the end of its log, and up exits 1 as soon as it is clear that the
// server will not come back (restart: no), leaving nothing running.
func TestUpNamesAServerThatDoesNotComeUp(t *testing.T) {
	top := strings.Replace(chatTopology(t), "  chat:\n", "  chat:\n    command: sh\n    args: [-c, 'echo the database is down; exit 3']\n", 1)
	c := newTestCluster(t, top)
	start := time.Now()
	code, out, errOut := c.run("up", c.file, "-d", "--timeout", "60s")
	if code != 1 {
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Errorf("up waited %s for servers that had already exited", waited)
	}
	for _, want := range []string{"(exited: failed to start: exited with code 3", "the database is down", "and will not be restarted: chat-server-", "; stopping the cluster"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("want %q in:\n%s", want, errOut)
		}
	}
	if rec, err := c.runDir().Master(); err == nil {
		c.ever[rec.Pid] = rec.StartTime
		t.Errorf("the master is still recorded: %+v", rec)
	}
}

// TestUpTimeout: a server that never registers is named once --timeout passes.
func TestUpTimeout(t *testing.T) {
	top := strings.Replace(chatTopology(t), "  chat:\n", "  chat:\n    command: sh\n    args: [-c, 'echo waiting for the database; exec sleep 60']\n", 1)
	c := newTestCluster(t, top)
	code, _, errOut := c.run("up", c.file, "-d", "--timeout", "2s")
	for _, want := range []string{"chat-server-1 did not come up (starting)", "waiting for the database",
		"not launched, waiting for those: gate-server-1, connector-server-1, connector-server-2, connector-server-3 (frontends are launched once the backends have registered)",
		"not ready within 2s: chat-server-1, chat-server-2, chat-server-3; stopping the cluster"} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("exit %d; want %q in:\n%s", code, want, errOut)
		}
	}
}

// A cluster whose Redis (globalChannel) does not answer does not come up,
// and up says why: the servers' logs name the Redis they could not reach.
func TestUpWithRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	top := strings.Replace(chatTopology(t), "servers:\n", "globalChannel: {redis: "+closed+"}\nservers:\n", 1)
	c := newTestCluster(t, top)
	code, _, errOut := c.run("up", c.file, "-d", "--timeout", "5s")
	if want := "Redis at " + closed + " (db 0) does not answer"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("up with Redis unreachable: exit %d; want 1 and %q in:\n%s", code, want, errOut)
	}
}

// TestDown: down stops every process of the cluster, the master included,
// and says so when there is nothing left to stop. The cluster runs with a
// built-in profile, which servers get merged into their topology.
func TestDown(t *testing.T) {
	c := newTestCluster(t, chatTopology(t))
	c.must("up", c.file, "-d", "-p", "dev")
	running(t, c.ls(), "gate-server-1", "chat-server-3")
	c.masterPid()
	if out := c.must("down"); !strings.Contains(out, "cluster down (master master-server-1, pid") {
		t.Errorf("down: %s", out)
	}
	c.waitNoneAlive(5 * time.Second)
	if out := c.must("down"); !strings.Contains(out, "the cluster is not running") {
		t.Errorf("down again: %s", out)
	}
	code, _, errOut := c.run("ls")
	if code != exitUnreachable || !strings.Contains(errOut, "the cluster is not running: `pomeloctl up` starts it") {
		t.Errorf("ls after down: exit %d, %s", code, errOut)
	}
}

// TestWrappedServers: a type's command that runs the server as its child
// (a wrapper script that does not exec) is still one server: the server
// registers from the wrapper's process group, and stop and down take the
// whole group.
func TestWrappedServers(t *testing.T) {
	wrap := "  chat:\n    command: sh\n    args: [-c, '\"$0\" \"$@\"; exit $?', " + strconv.Quote(binary(t)) + "]\n"
	c := newTestCluster(t, strings.Replace(chatTopology(t), "  chat:\n", wrap, 1))
	c.must("up", c.file, "-d", "--timeout", "30s")
	running(t, c.ls(), "chat-server-1", "chat-server-2", "chat-server-3")
	ours := func() string {
		out, _ := exec.Command("pgrep", "-f", "--", "--stdin-path "+c.file).Output()
		return strings.TrimSpace(string(out))
	}
	if n := len(strings.Fields(ours())); n != 10 { // 7 servers, 3 wrappers
		t.Errorf("%d processes of the cluster, want 10", n)
	}
	c.must("stop", "chat-server-1")
	c.must("down")
	c.waitNoneAlive(5 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for ours() != "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := ours(); left != "" {
		t.Errorf("processes left after down: %s", left)
		_ = exec.Command("pkill", "-KILL", "-f", "--", "--stdin-path "+c.file).Run()
	}
}
