package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// TestDiff: ls shows each server's group, program and configuration;
// diff against the running chat demo says nothing changes until the
// topology and the program do, then names each server's change and why;
// a master that adopts the cluster after kill -9 knows what each server
// runs as well as the one that launched it.
func TestDiff(t *testing.T) {
	top := strings.Replace(chatTopology(t), "servers:\n", "groups:\n  blue: {hosts: [127.0.0.1]}\nservers:\n", 1)
	c := newTestCluster(t, top)
	c.must("up", c.file, "-d")
	t.Cleanup(func() { c.run("down") })

	list := c.ls()
	for id, s := range list {
		if s.Group != "blue" || !strings.HasPrefix(s.Program, "go:") || len(s.Config) != 12 || s.ConfigParts["filters"] == "" {
			t.Errorf("%s: group %q, program %q, config %q (%d parts); want blue, a Go build, a digest and its parts", id, s.Group, s.Program, s.Config, len(s.ConfigParts))
		}
	}
	diff := func() diffReport {
		t.Helper()
		var r diffReport
		if err := json.Unmarshal([]byte(c.must("diff", c.file, "-o", "json")), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := diff(); r.Counts[changeUnchanged] != 7 || len(r.Servers) != 7 {
		t.Fatalf("diff against what runs: %+v; want 7 unchanged", r)
	}

	// The master dies and a new one adopts the servers from their records.
	mpid := c.masterPid()
	if err := syscall.Kill(mpid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, mpid, mustStart(mpid))
	c.must("up", c.file, "-d")
	for id, s := range c.ls() {
		if old := list[id]; s.Pid != old.Pid || s.Program != old.Program || s.Config != old.Config {
			t.Errorf("%s adopted: pid %d, program %q, config %q; want %d, %q, %q as before", id, s.Pid, s.Program, s.Config, old.Pid, old.Program, old.Config)
		}
	}
	if r := diff(); r.Counts[changeUnchanged] != 7 {
		t.Errorf("diff after the master was replaced: %+v; want 7 unchanged", r.Counts)
	}

	// A new build of the game, a changed connector, a chat server more
	// and one less, and a group of their own for two chat servers.
	game := filepath.Join(c.dir, "chat-new")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.build=2", "-o", game, "../../examples/chat").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(c.dir, "chat")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(game, filepath.Join(c.dir, "chat")); err != nil {
		t.Fatal(err)
	}
	changed := strings.NewReplacer(
		"heartbeat: 3s", "heartbeat: 5s",
		"      - {id: chat-server-3, host: 127.0.0.1, port: 6052}\n", "      - {id: chat-server-4, host: 127.0.0.1, port: 6053, group: green}\n",
		"      - {id: chat-server-2, host: 127.0.0.1, port: 6051}\n", "      - {id: chat-server-2, host: 127.0.0.1, port: 6051, group: green}\n",
	).Replace(top)
	if changed == top {
		t.Fatal("the chat topology no longer has what the test changes")
	}
	if err := os.WriteFile(c.file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	r := diff()
	want := map[string]struct{ change, why string }{
		"gate-server-1":      {changeRestart, "its program changed (" + list["gate-server-1"].Program + " → go:"},
		"connector-server-1": {changeRestart, "configuration: servers.connector.connector"},
		"chat-server-2":      {changeRestart, "its program changed"},
		"chat-server-3":      {changeRemove, "not in the topology"},
		"chat-server-4":      {changeAdd, ""},
	}
	got := map[string]serverChange{}
	for _, s := range r.Servers {
		got[s.ID] = s
	}
	for id, w := range want {
		s := got[id]
		if s.Change != w.change || !strings.Contains(strings.Join(s.Why, "; "), w.why) {
			t.Errorf("%s: %s (%s); want %s (%s…)", id, s.Change, strings.Join(s.Why, "; "), w.change, w.why)
		}
	}
	if s := got["chat-server-2"]; s.Group != "green" || strings.Contains(strings.Join(s.Why, ";"), "configuration") {
		t.Errorf("chat-server-2: group %q, why %v; want green, and its group no reason to restart it", s.Group, s.Why)
	}
	if r.Counts[changeAdd] != 1 || r.Counts[changeRemove] != 1 || r.Counts[changeRestart] != 6 {
		t.Errorf("counts %v; want 1 to add, 1 to remove, 6 to restart", r.Counts)
	}
	out := c.must("diff", c.file)
	if !strings.Contains(out, "1 to add, 6 to restart, 1 to remove, 0 unchanged\n") || !strings.Contains(out, "chat-server-4       chat       green  add") {
		t.Errorf("the table:\n%s", out)
	}
	var st []admin.ServerStatus
	if err := json.Unmarshal([]byte(c.must("ls", "-o", "json")), &st); err != nil || len(st) != 7 {
		t.Fatalf("ls after diff: %v, %d servers: diff must change nothing", err, len(st))
	}
}
