package topology

import (
	"fmt"
	"strings"
	"testing"
)

func TestNewServer(t *testing.T) {
	top, _, err := Load("../examples/chat/topology.yaml", Options{Machine: fakeMachine{}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := top.NewServer(AddSpec{Type: "chat"}, fakeMachine{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "chat-server-4" || s.Port != 6053 || s.Host != "127.0.0.1" || s.ClientPort != 0 || s.Frontend || !s.Local {
		t.Errorf("a chat server with defaults: %+v", s)
	}
	top.AddServer(s)
	if top.Server("chat-server-4") != s {
		t.Error("AddServer did not add it")
	}
	c, err := top.NewServer(AddSpec{Type: "connector"}, fakeMachine{})
	if err != nil || c.ID != "connector-server-4" || c.Port != 4053 || c.ClientPort != 3053 || c.ClientHost != "127.0.0.1" {
		t.Errorf("a connector with defaults: %+v %v", c, err)
	}
	if !top.RemoveServer("chat-server-4") || top.Server("chat-server-4") != nil || top.RemoveServer("chat-server-4") {
		t.Error("RemoveServer")
	}

	for _, tt := range []struct {
		spec AddSpec
		want string
	}{
		{AddSpec{Type: "nosuch"}, `no server type "nosuch"`},
		{AddSpec{Type: "chat", ID: "chat-server-1"}, `id "chat-server-1" is already used`},
		{AddSpec{Type: "chat", ID: "master-server-1"}, `id "master-server-1" is already used`},
		{AddSpec{Type: "chat", ID: "bad id"}, `"bad id" is not a usable id`},
		{AddSpec{Type: "chat", Port: 6050}, "port 127.0.0.1:6050 is already taken by chat-server-1"},
		{AddSpec{Type: "chat", Port: 3005}, "already taken by the master"},
		{AddSpec{Type: "chat", Port: 70000}, "port 70000 is out of range"},
		{AddSpec{Type: "chat", ClientPort: 7000}, "backend: its servers have no client port"},
		{AddSpec{Type: "connector", Port: 5000, ClientPort: 5000}, "port and client port are both 5000"},
		{AddSpec{Type: "gate", Port: 5000}, ""},
	} {
		_, err := top.NewServer(tt.spec, fakeMachine{})
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.spec, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want %q", tt.spec, err, tt.want)
		}
	}
}

// TestNewServerAvoidsEveryListener: an added server's ports are none that
// the cluster listens on, HTTP endpoints, the web page and managed helpers
// included; Listeners lists them all.
func TestNewServerAvoidsEveryListener(t *testing.T) {
	top := mustLoad(t, "l.yaml", `
name: l
master: {port: 3005, httpPort: 9005}
web: {root: ., port: 6052}
globalChannel: {redis: managed}
servers:
  chat:
    instances:
      - {id: chat-server-1, port: 6050, httpPort: 6051}
`, testOptions())
	var got []string
	for _, l := range top.Listeners() {
		got = append(got, fmt.Sprintf("%s:%d %s", l.Host, l.Port, l.Owner))
	}
	want := []string{
		"127.0.0.1:3005 the master", "127.0.0.1:9005 the master's HTTP endpoint", "127.0.0.1:6479 the managed Redis",
		"127.0.0.1:6052 the web page", "127.0.0.1:6050 chat-server-1", "127.0.0.1:6051 chat-server-1",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("listeners:\n got %s\nwant %s", strings.Join(got, "; "), strings.Join(want, "; "))
	}
	s, err := top.NewServer(AddSpec{Type: "chat"}, fakeMachine{})
	if err != nil || s.Port != 6053 {
		t.Errorf("an added chat server: %+v %v; want port 6053, past the HTTP endpoint's and the web page's", s, err)
	}
	if _, err := top.NewServer(AddSpec{Type: "chat", Port: 6051}, fakeMachine{}); err == nil || !strings.Contains(err.Error(), "already taken by chat-server-1") {
		t.Errorf("a port an HTTP endpoint holds: %v", err)
	}
}
