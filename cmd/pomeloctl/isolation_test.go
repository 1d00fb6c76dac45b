package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pomeloctl/pomeloctl/engine/master"
)

// Tests touch only what they start. A developer's own cluster may run beside
// them on Pomelo's default ports (127.0.0.1:3005, admin/admin), and the
// control commands would find it from ./topology.yaml, from the $POMELOCTL_*
// variables of the shell that runs the tests, or from those defaults.
// TestMain takes all three away from every test of this package and every
// program it runs: none of the caller's $POMELOCTL_* variables, and
// $POMELOCTL_NO_DEFAULTS, so that a control command must be told which
// cluster it means. Each test names its own: a topology in its temporary
// folder, at a port offset from internal/freeport (never the ports as
// written), with its run directory beside it.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "POMELOCTL_") {
			os.Unsetenv(name)
		}
	}
	os.Setenv(envNoDefaults, "1")
	os.Exit(m.Run())
}

// trapMaster is an admin API of the test's own that records who called it,
// for a command that must reach it or nothing.
type trapMaster struct {
	addr  string
	mu    sync.Mutex
	calls []string // "user:password module"
}

func newTrapMaster(t *testing.T) *trapMaster {
	tm := &trapMaster{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, _ := r.BasicAuth()
		tm.mu.Lock()
		tm.calls = append(tm.calls, user+":"+password+" "+strings.TrimPrefix(r.URL.Path, "/api/v1/modules/"))
		tm.mu.Unlock()
		w.Write([]byte(`{"result":[]}`))
	}))
	t.Cleanup(srv.Close)
	tm.addr = strings.TrimPrefix(srv.URL, "http://")
	return tm
}

func (tm *trapMaster) called() []string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return append([]string(nil), tm.calls...)
}

// topologyFor writes, into a new folder, a topology.yaml whose master is tm.
func (tm *trapMaster) topologyFor(t *testing.T) (dir string) {
	dir = t.TempDir()
	host, port, _ := strings.Cut(tm.addr, ":")
	top := "master:\n  host: " + host + "\n  port: " + port + "\n  users: [{id: u1, username: trap, password: s3cret, level: 1}]\n" +
		"servers:\n  chat:\n    instances: [{id: chat-server-1, host: 127.0.0.1, port: 1}]\n"
	if err := os.WriteFile(filepath.Join(dir, "topology.yaml"), []byte(top), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestControlCommandsGuessNothing: with $POMELOCTL_NO_DEFAULTS (as every
// test of this package runs), a control command in a folder with a
// topology.yaml (as examples/chat has, on the default ports) neither reads
// it nor falls back to 127.0.0.1:3005 or admin/admin: it says what to name.
// The folder's topology names a master of the test's own, so that even a
// broken guard could reach nothing else.
func TestControlCommandsGuessNothing(t *testing.T) {
	if os.Getenv(envNoDefaults) == "" {
		t.Fatalf("$%s is not set: TestMain must set it", envNoDefaults)
	}
	trap := newTrapMaster(t)
	t.Chdir(trap.topologyFor(t))

	// resolve never dials: check it refuses before any command may dial.
	if tg, err := (&conn{g: &globals{}}).resolve(newRootCmd()); err == nil {
		t.Fatalf("resolve took a default: %s", tg.addr)
	}
	const noCluster = "no cluster named, and $POMELOCTL_NO_DEFAULTS forbids ./topology.yaml and 127.0.0.1:3005: pass --topology or --master"
	for _, args := range [][]string{
		{"ls"}, {"kill", "chat-server-1"}, {"stop"}, {"restart", "chat-server-1"}, {"add", "--type", "chat"},
		{"logs", "master"}, {"down"}, {"bench", "connect", "--clients", "1"}, {"bench", "idle", "--cluster"},
	} {
		if code, out, errOut := pomeloctl(t, args...); code != exitFailure || out != "" || !strings.Contains(errOut, noCluster) {
			t.Errorf("pomeloctl %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), code, out, errOut, noCluster)
		}
	}
	// A master named without a user does not get admin/admin either.
	code, _, errOut := pomeloctl(t, "ls", "--master", trap.addr)
	if code != exitFailure || !strings.Contains(errOut, "no admin user named, and $POMELOCTL_NO_DEFAULTS forbids admin/admin") {
		t.Errorf("ls --master without a user: exit %d, %s", code, errOut)
	}
	if calls := trap.called(); len(calls) != 0 {
		t.Errorf("the folder's topology was read: its master got %v", calls)
	}

	// Named, the cluster is reached as always.
	t.Setenv("POMELOCTL_TOPOLOGY", "topology.yaml")
	if code, _, errOut := pomeloctl(t, "ls"); code != exitOK {
		t.Errorf("ls with $POMELOCTL_TOPOLOGY: exit %d, %s", code, errOut)
	}
	if code, _, errOut := pomeloctl(t, "ls", "--master", trap.addr, "--user", "u", "--password", "p"); code != exitOK {
		t.Errorf("ls --master --user --password: exit %d, %s", code, errOut)
	}
	if calls, want := strings.Join(trap.called(), ", "), "trap:s3cret servers, u:p servers"; calls != want {
		t.Errorf("the test's master got %s, want %s", calls, want)
	}
}

// TestControlCommandsKeepPomeloDefaults: without $POMELOCTL_NO_DEFAULTS the
// CLI still finds ./topology.yaml, and falls back to 127.0.0.1:3005 and
// admin/admin as Pomelo does (checked without dialling it: the address is
// only resolved, the user is sent to a master of the test's own).
func TestControlCommandsKeepPomeloDefaults(t *testing.T) {
	t.Setenv(envNoDefaults, "")
	trap := newTrapMaster(t)
	t.Chdir(trap.topologyFor(t))
	if code, _, errOut := pomeloctl(t, "ls"); code != exitOK {
		t.Errorf("ls beside a topology.yaml: exit %d, %s", code, errOut)
	}
	t.Chdir(t.TempDir())
	if code, _, errOut := pomeloctl(t, "ls", "--master", trap.addr); code != exitOK {
		t.Errorf("ls --master without a user: exit %d, %s", code, errOut)
	}
	if calls, want := strings.Join(trap.called(), ", "), "trap:s3cret servers, admin:admin servers"; calls != want {
		t.Errorf("the test's master got %s, want %s", calls, want)
	}
	tg, err := (&conn{g: &globals{}}).resolve(newRootCmd())
	if err != nil || tg.addr != "127.0.0.1:3005" || tg.runDir != "" {
		t.Errorf("no topology, no flags: %+v %v; want 127.0.0.1:3005 and no run directory", tg, err)
	}
}

// down for a run directory whose master is dead stops what the master left
// and sends nothing to its address: the port may since belong to another
// process, another cluster's master even.
func TestDownNeverReachesWhatTookADeadMastersPort(t *testing.T) {
	trap := newTrapMaster(t)
	runDir := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	rec := master.MasterRecord{ID: "master-server-1", Pid: dead.Process.Pid, StartTime: 1, Addr: trap.addr}
	data, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(runDir, "master.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := pomeloctl(t, "down", "--master", trap.addr, "--user", "u", "--password", "p", "--run-dir", runDir)
	if code != exitOK || !strings.Contains(out, "not running") {
		t.Errorf("down: exit %d, %q %q; want 0 and nothing to stop", code, out, errOut)
	}
	if calls := trap.called(); len(calls) > 0 {
		t.Errorf("down reached what answers on the dead master's address: %v", calls)
	}
}

// down sends nothing to a master that runs another cluster than the one
// named (another checkout of the same topology on the same ports, say):
// it says whose master answered and how to name it.
func TestDownSendsNothingToAnotherClustersMaster(t *testing.T) {
	var mu sync.Mutex
	var modules []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		modules = append(modules, strings.TrimPrefix(r.URL.Path, "/api/v1/modules/"))
		mu.Unlock()
		w.Write([]byte(`{"result":{"id":"master-server-1","pid":1,"topology":"/elsewhere/topology.yaml","runDir":"/elsewhere/.pomeloctl/3005"}}`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	runDir := t.TempDir()
	code, _, errOut := pomeloctl(t, "down", "--master", addr, "--user", "u", "--password", "p", "--run-dir", runDir)
	if code != exitFailure || !strings.Contains(errOut, "runs another cluster") || !strings.Contains(errOut, "/elsewhere/.pomeloctl/3005") {
		t.Errorf("down: exit %d, %q; want a refusal naming the other cluster", code, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(modules) != 1 || modules[0] != "master" {
		t.Errorf("down sent %v to another cluster's master; want only the question of who it is", modules)
	}
}
