package topology

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serverList renders every expanded server as "id type host port clientHost clientPort".
func serverList(t *Topology) []string {
	var out []string
	for _, st := range t.Types {
		for _, s := range st.Servers {
			out = append(out, fmt.Sprintf("%s %s %s %d %s %d", s.ID, s.Type, s.Host, s.Port, s.ClientHost, s.ClientPort))
		}
	}
	return out
}

func mustLoad(t *testing.T, name, src string, opts Options) *Topology {
	t.Helper()
	top, _, err := LoadBytes(name, []byte(src), opts)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return top
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestChatExample(t *testing.T) {
	top, warnings, err := Load("../examples/chat/topology.yaml", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	// The only one there may be: the chat game is not built yet (install.sh
	// builds it), warned about once for the three types that run it.
	if len(warnings) > 1 || len(warnings) == 1 && !strings.Contains(warnings[0].Msg, "command ./chat does not exist yet") {
		t.Errorf("warnings: %v", warnings)
	}
	if top.Types.Get("chat").Command != "./chat" {
		t.Errorf("the chat type's command: %q", top.Types.Get("chat").Command)
	}
	equalLines(t, "servers", serverList(top), []string{
		"gate-server-1 gate 127.0.0.1 0 127.0.0.1 3014",
		"connector-server-1 connector 127.0.0.1 4050 127.0.0.1 3050",
		"connector-server-2 connector 127.0.0.1 4051 127.0.0.1 3051",
		"connector-server-3 connector 127.0.0.1 4052 127.0.0.1 3052",
		"chat-server-1 chat 127.0.0.1 6050  0",
		"chat-server-2 chat 127.0.0.1 6051  0",
		"chat-server-3 chat 127.0.0.1 6052  0",
	})
	if top.Name != "chat" || top.Master.Port != 3005 || top.Master.ID != "master-server-1" {
		t.Errorf("master: got %s %s:%d", top.Name, top.Master.ID, top.Master.Port)
	}
	c := top.Types.Get("connector").Connector
	if c.Heartbeat.D().Seconds() != 3 || !c.UseDict || !c.UseProtobuf || c.MaxPackageSize != DefaultMaxPackageSize {
		t.Errorf("connector options: got %+v", c)
	}
	if got := strings.Join(top.Types.Get("gate").Connector.Transports, ","); got != "ws,tcp" {
		t.Errorf("default transports: got %s, want ws,tcp", got)
	}
	if top.Types.Get("chat").Connector != nil {
		t.Errorf("a backend got connector options")
	}
	if u := top.Master.Users[0]; u.Username != "admin" || u.Password.Value != "admin" || u.Level != 1 {
		t.Errorf("admin user from ${POMELO_ADMIN_PASSWORD:-admin}: got %+v", u)
	}
	if p := top.Types.Get("chat").Servers[0].Restart.Policy; p != "no" {
		t.Errorf("default restart policy: got %q, want no", p)
	}
}

func TestProfiles(t *testing.T) {
	opts := testOptions()
	opts.Profiles = []string{"ci"}
	top, _, err := Load("../examples/chat/topology.yaml", opts)
	if err != nil {
		t.Fatal(err)
	}
	if top.PortOffset != 20000 || top.Master.Port != 23005 {
		t.Errorf("ci portOffset: got offset %d, master port %d", top.PortOffset, top.Master.Port)
	}
	if s := top.Types.Get("connector").Servers[0]; s.Port != 24050 || s.ClientPort != 23050 || s.Restart.Policy != "on-failure" {
		t.Errorf("connector under ci: got port %d clientPort %d restart %s", s.Port, s.ClientPort, s.Restart.Policy)
	}
	if top.Log.Format != "json" {
		t.Errorf("ci log format: got %s", top.Log.Format)
	}

	offset := 100
	opts.PortOffset = &offset
	top, _, err = Load("../examples/chat/topology.yaml", opts)
	if err != nil {
		t.Fatal(err)
	}
	if top.Master.Port != 3105 {
		t.Errorf("--port-offset 100 over the ci profile: master port %d, want 3105", top.Master.Port)
	}

	for _, p := range []string{"dev", "prod"} {
		opts := testOptions()
		opts.Profiles = []string{p}
		if _, _, err := Load("../examples/chat/topology.yaml", opts); err != nil {
			t.Errorf("profile %s: %v", p, err)
		}
	}
	opts = testOptions()
	opts.Profiles = []string{"nosuch"}
	if _, _, err := Load("../examples/chat/topology.yaml", opts); err == nil || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `profile "nosuch" not found`) {
		t.Errorf("missing profile: got %v", err)
	}
}

func TestOverlayMerge(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := write("topology.yaml", `
name: merge
ha:
  standbys: [{id: m2, port: 3006}]
master: {users: [{id: u1, username: admin, password: a, level: 1}, {id: u2, username: ro, password: b, level: 2}]}
servers:
  connector:
    frontend: true
    connector: {transports: [ws]}
    settings: {area: 1, keep: yes}
    instances:
      - {id: c1, port: 4050, clientPort: 3050}
      - {id: c2, port: 4051, clientPort: 3051}
  chat:
    instances: [{id: chat1, port: 6050}]
`)
	over := write("over.yaml", `
ha: null
master:
  users: [{id: u2, level: 1}, {id: u3, username: ops, password: c, level: 1}]
servers:
  connector:
    settings: {area: 2, keep: null}
    instances:
      - {id: c2, clientPort: 3061}
      - {id: c3, port: 4053, clientPort: 3053}
    connector: {transports: [tcp]}
`)
	opts := testOptions()
	opts.Profiles = []string{over}
	top, _, err := Load(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	if top.HA != nil {
		t.Errorf("ha: null in the overlay did not delete ha")
	}
	var users []string
	for _, u := range top.Master.Users {
		users = append(users, fmt.Sprintf("%s %s %d", u.ID, u.Username, u.Level))
	}
	equalLines(t, "users merged by id", users, []string{"u1 admin 1", "u2 ro 1", "u3 ops 1"})
	equalLines(t, "servers", serverList(top), []string{
		"c1 connector 127.0.0.1 4050 127.0.0.1 3050",
		"c2 connector 127.0.0.1 4051 127.0.0.1 3061",
		"c3 connector 127.0.0.1 4053 127.0.0.1 3053",
		"chat1 chat 127.0.0.1 6050  0",
	})
	if got := strings.Join(top.Types.Get("connector").Connector.Transports, ","); got != "tcp" {
		t.Errorf("a list without ids is replaced: got transports %s, want tcp", got)
	}
	settings := top.Types.Get("connector").Settings
	if settings["area"] != 2 || settings["keep"] != nil {
		t.Errorf("settings merged: got %v, want area 2 and keep deleted", settings)
	}
}

func TestOverlayErrorsPointAtTheirFile(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "topology.yaml")
	over := filepath.Join(dir, "bad.yaml")
	os.WriteFile(base, []byte("servers:\n  chat:\n    instances: [{id: chat1, port: 6050}]\n"), 0o644)
	os.WriteFile(over, []byte("# overlay\nservers:\n  chat:\n    instances: [{id: chat1, port: 70000}]\n"), 0o644)
	opts := testOptions()
	opts.Profiles = []string{over}
	_, _, err := Load(base, opts)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("got %v, want one error", err)
	}
	if want := over + ":4:35"; list[0].Pos.String() != want {
		t.Errorf("error at %s, want %s (%v)", list[0].Pos, want, list[0])
	}
}

func TestEdgesThatLoad(t *testing.T) {
	top := mustLoad(t, "edges.yaml", `
portOffset: 100
x-shared: &shared {zone: eu}
filters:
  before: [{name: serial, timeout: 3s}]
servers:
  chat:
    settings: {restart: nightly, <<: *shared}
    instances: [{id: chat-1, port: 6050}]
  connector:
    frontend: true
    connector: {flushInterval: 0}
    instances: [{id: connector-1, port: 4050, clientPort: 3050}]
`, testOptions())
	if d := top.Types.Get("connector").Connector.FlushInterval; d != 0 {
		t.Errorf("a bare 0 is a duration of 0 in any unit: got %s", d.D())
	}
	if top.Master.Port != 3105 {
		t.Errorf("an unwritten master port shifts too: got %d, want 3105", top.Master.Port)
	}
	if s := top.Types.Get("chat").Settings; s["restart"] != "nightly" || s["zone"] != "eu" {
		t.Errorf("settings: got %v, want restart: nightly kept as written and zone from the anchor", s)
	}
}

// TestSourceLoadsTheSame: what the master hands a server (Source, profiles
// merged) loads into the same servers without the profile files.
func TestSourceLoadsTheSame(t *testing.T) {
	off := 7
	for _, profiles := range [][]string{nil, {"ci"}, {"dev", "ci"}} {
		opts := testOptions()
		opts.Profiles, opts.PortOffset = profiles, &off
		a, _, err := Load("../examples/chat/topology.yaml", opts)
		if err != nil {
			t.Fatal(err)
		}
		opts.Profiles = nil
		b, _, err := LoadBytes(a.File, a.Source, opts)
		if err != nil {
			t.Fatalf("%v: %v\n%s", profiles, err, a.Source)
		}
		ja, _ := json.Marshal(a.AllServers())
		jb, _ := json.Marshal(b.AllServers())
		if string(ja) != string(jb) || a.Log.Format != b.Log.Format || a.Log.Level != b.Log.Level {
			t.Errorf("%v: the source loads differently:\n%s\n%s", profiles, ja, jb)
		}
	}
}

// The dev profile runs master HA on a managed ZooKeeper and global
// channels on a managed Redis, only for a topology that declares them: it
// turns neither on for one without.
func TestDevProfileManagesZookeeperOnlyWithHA(t *testing.T) {
	opts := testOptions()
	opts.Profiles = []string{"dev"}
	withHA := "name: t\nha: {zookeeper: [10.0.0.9:2181], standbys: [{id: m2, port: 3006}]}\nservers: {chat: {instances: [{id: chat-server-1, port: 6050}]}}\n"
	top := mustLoad(t, "ha.yaml", withHA, opts)
	if top.HA == nil || !top.HA.Managed || len(top.HA.Zookeeper) != 1 || !strings.HasPrefix(top.HA.Zookeeper[0], "127.0.0.1:") {
		t.Errorf("dev over a topology with ha: %+v; want a managed ZooKeeper on loopback", top.HA)
	}
	without := mustLoad(t, "plain.yaml", "name: t\nservers: {chat: {instances: [{id: chat-server-1, port: 6050}]}}\n", opts)
	if without.HA != nil || without.GlobalChannel != nil {
		t.Errorf("dev over a topology without ha or globalChannel: %+v %+v; want neither", without.HA, without.GlobalChannel)
	}
	channels := mustLoad(t, "gc.yaml", "name: t\nglobalChannel: {redis: 10.0.0.9:6379, prefix: t}\nservers: {chat: {instances: [{id: chat-server-1, port: 6050}]}}\n", opts)
	if gc := channels.GlobalChannel; gc == nil || !gc.Managed || gc.Redis != "127.0.0.1:6479" || gc.Prefix != "t" {
		t.Errorf("dev over a topology with globalChannel: %+v; want a managed Redis on 127.0.0.1:6479, the prefix kept", gc)
	}
	if strings.Contains(string(top.Source), "ifDeclared") {
		t.Errorf("the resolved topology still holds ifDeclared:\n%s", top.Source)
	}
}
