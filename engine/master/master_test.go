package master

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/internal/testbin"
	"github.com/pomeloctl/pomeloctl/profiles"
	"github.com/pomeloctl/pomeloctl/topology"
)

// TestMasterInProcess runs a master in the test's process (so that the race
// detector watches the run loop) over real server processes, and steers it
// through the admin client. cmd/pomeloctl's tests drive the same through
// the CLI, with the master in its own process.
func TestMasterInProcess(t *testing.T) {
	bin := buildPomeloctl(t)
	offset, err := freeport.Offset(3005, 3014, 3050, 3051, 3052, 3053, 4050, 4051, 4052, 4053, 6050, 6051, 6052)
	if err != nil {
		t.Fatal(err)
	}
	dir := chatCopy(t, nil)
	top, _, err := topology.Load(filepath.Join(dir, "topology.yaml"), topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	var events []lifecycle.Event // appended on the run loop, read after Run returns
	m, err := New(Config{Topology: top, RunDir: RunDir(t.TempDir()), Executable: bin, Logger: testLogger(t), OnEvent: func(e lifecycle.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel, wait := run(t, m)
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
	// Every server is told the supervision states, for its routers: a
	// stopped server is one a request should not wait for.
	for id, want := range map[string]string{"connector-server-4": "stopped", "chat-server-1": "running"} {
		if got := hubState(m, id); got != want {
			t.Errorf("the state the servers are told of %s: %q; want %q", id, got, want)
		}
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
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	stopped, firstStart, firstRunning := map[string]int{}, map[string]int{}, map[string]int{}
	for i, e := range events {
		if e.To == lifecycle.Stopping && e.Cause == "stop-requested" {
			stopped[e.Server] = i
		}
		if _, ok := firstStart[e.Server]; !ok && e.To == lifecycle.Starting {
			firstStart[e.Server] = i
		}
		if _, ok := firstRunning[e.Server]; !ok && e.To == lifecycle.Running {
			firstRunning[e.Server] = i
		}
	}
	// A starting cluster launches its frontends once its backends run.
	for _, fe := range []string{"gate-server-1", "connector-server-1", "connector-server-2", "connector-server-3"} {
		for _, be := range []string{"chat-server-1", "chat-server-2", "chat-server-3"} {
			if firstStart[fe] < firstRunning[be] {
				t.Errorf("frontend %s was launched before backend %s registered: %+v", fe, be, events)
			}
		}
	}
	for _, s := range list {
		if s.Type == "chat" {
			for _, fe := range []string{"gate-server-1", "connector-server-1"} {
				if stopped[s.ID] < stopped[fe] {
					t.Errorf("%s was asked to stop before frontend %s: %+v", s.ID, fe, events)
				}
			}
		}
	}
}

// run runs m until the cluster is ready. Whatever happens to the test, the
// cluster is stopped when it ends, and any server left is killed.
func run(t *testing.T, m *Master) (context.Context, context.CancelFunc, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() { runErr = m.Run(ctx); close(done) }()
	wait := func() error { <-done; return runErr }
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the master did not stop within 30s")
		}
		if n, _ := StopOrphans(context.Background(), m.RunDir(), time.Second); n > 0 {
			t.Errorf("%d servers were left running", n)
		}
	})
	select {
	case <-m.Ready():
	case <-done:
		t.Fatalf("Run: %v", runErr)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready in 30s")
	}
	return ctx, cancel, wait
}

// start runs m in the background without waiting for the cluster to be
// ready, for tests of a cluster that never is. When the test ends the
// master is stopped, and any server left is killed.
func start(t *testing.T, m *Master) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the master did not stop within 30s")
		}
		_, _ = StopOrphans(context.Background(), m.RunDir(), time.Second)
	})
	return ctx, cancel
}

// testLogger keeps the master's log and shows it if the test fails.
func testLogger(t *testing.T) *slog.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			t.Logf("the master's log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// chatCopy copies the chat example into a temporary folder, its topology
// changed by edit (when not nil), with the chat game built beside it.
func chatCopy(t *testing.T, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"topology.yaml", "serverProtos.json"} {
		data, err := os.ReadFile(filepath.Join("../../examples/chat", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "topology.yaml" && edit != nil {
			data = []byte(edit(string(data)))
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chatOnce.Do(func() { chatPath, chatErr = testbin.Build("../../examples/chat") })
	if chatErr != nil {
		t.Fatal(chatErr)
	}
	if err := testbin.Link(chatPath, dir, "chat"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "web"), 0o755); err != nil { // the folder its web section serves
		t.Fatal(err)
	}
	return dir
}

var (
	chatOnce  sync.Once
	chatPath  string
	chatErr   error
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildPomeloctl builds the program that runs servers, once for the tests.
func buildPomeloctl(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { binPath, buildErr = testbin.Build("../../cmd/pomeloctl") })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// remoteMachine takes "localhost" for another host, so that a test can run
// a "remote" server through a stand-in ssh that runs it here.
type remoteMachine struct{ topology.Machine }

func (remoteMachine) IsLocal(host string) bool { return host != "localhost" }

// standInSSH puts an ssh on PATH that records its arguments (one line per
// call, arguments separated by |) and runs the command here, as sshd would
// there: the last argument is the command, the one before it the host.
func standInSSH(t *testing.T) (record string) {
	dir := t.TempDir()
	record = filepath.Join(dir, "calls")
	script := `#!/bin/sh
line=""
for a; do line="$line$a|"; prev="$cmd"; cmd="$a"; done
echo "$line" >> '` + record + `'
exec sh -c "$cmd"
`
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return record
}

// TestRemoteHostsOverSSH: servers on a host that is not this machine are
// started, stopped and killed over ssh with the topology's sshArgs, running
// the same program at the same path with the resolved topology on stdin.
func TestRemoteHostsOverSSH(t *testing.T) {
	bin := buildPomeloctl(t)
	calls := standInSSH(t)
	offset, err := freeport.Offset(3005, 3014, 3050, 3051, 3052, 4050, 4051, 4052, 6050, 6051, 6052)
	if err != nil {
		t.Fatal(err)
	}
	dir := chatCopy(t, func(text string) string {
		text = strings.ReplaceAll(text, "host: 127.0.0.1, port: 605", "host: localhost, port: 605")
		return strings.Replace(text, "  port: 3005\n", "  port: 3005\n  sshArgs: [-o, BatchMode=yes]\n", 1)
	})
	machine := remoteMachine{topology.ThisMachine()}
	top, _, err := topology.Load(filepath.Join(dir, "topology.yaml"), topology.Options{PortOffset: &offset, Machine: machine, Profiles: []string{"dev"}, BuiltinProfiles: profiles.FS})
	if err != nil {
		t.Fatal(err)
	}
	if s := top.Server("chat-server-1"); s.Local {
		t.Fatal("chat-server-1 should be remote in this test")
	}
	m, err := New(Config{Topology: top, RunDir: RunDir(filepath.Join(dir, "run")), Executable: bin, Machine: machine, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel, wait := run(t, m)
	recorded := func() string {
		data, _ := os.ReadFile(calls)
		return string(data)
	}
	launch := ""
	for _, l := range strings.Split(recorded(), "\n") {
		if strings.Contains(l, "--id|chat-server-2") || strings.Contains(l, "--id chat-server-2") {
			launch = l
		}
	}
	for _, want := range []string{"-o|BatchMode=yes|localhost|cd " + dir + " && IFS= read -r POMELOCTL_TOKEN && export POMELOCTL_TOKEN && exec env POMELOCTL_MASTER=127.0.0.1:",
		" " + filepath.Join(dir, "chat") + " serve - --stdin-path " + filepath.Join(dir, "topology.yaml") + " --id chat-server-2 --port-offset " + strconv.Itoa(offset)} {
		if !strings.Contains(launch, want) {
			t.Errorf("the ssh launch of chat-server-2: want %q in %q", want, launch)
		}
	}
	if strings.Contains(recorded(), m.tokens["chat"]) {
		t.Error("the token is on ssh's command line")
	}
	if n := strings.Count(recorded(), "|localhost|"); n != 3 {
		t.Errorf("%d ssh launches, want the 3 chat servers':\n%s", n, recorded())
	}
	cl := admin.NewClient(m.Addr(), "admin", "admin")
	list, err := cl.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := 0
	for _, s := range list {
		if s.ID == "chat-server-1" {
			pid = s.Pid
		}
	}
	if err := cl.Stop(ctx, "chat-server-1"); err != nil {
		t.Error(err)
	}
	if err := cl.Kill(ctx, "chat-server-2"); err != nil {
		t.Error(err)
	}
	for _, want := range []string{"-o|BatchMode=yes|localhost|kill -TERM " + strconv.Itoa(pid) + "|", "|localhost|kill -KILL -"} {
		// The kill goes out over ssh beside the local one, which may
		// return first.
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(recorded(), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(recorded(), want) {
			t.Errorf("want an ssh call %q in:\n%s", want, recorded())
		}
	}
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// hubState is the supervision state the master has told the servers of id.
func hubState(m *Master, id string) string {
	return m.hub.States()[id]
}
