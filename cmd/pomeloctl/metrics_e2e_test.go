package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/internal/metricstest"
)

// metricsHTTPPorts are the HTTP endpoints TestMetrics gives the chat
// example, before the offset: the master's, the gate's, the connectors'
// and the chat servers'.
var metricsHTTPPorts = map[string]int{
	"master-server-1": 3090, "gate-server-1": 3091,
	"connector-server-1": 3092, "connector-server-2": 3093, "connector-server-3": 3094,
	"chat-server-1": 3095, "chat-server-2": 3096, "chat-server-3": 3097,
}

// withHTTPPorts is the chat example with an httpPort on the master and on
// every server, and chat servers that come back when they crash.
func withHTTPPorts(t *testing.T, topology string) string {
	t.Helper()
	edits := [][2]string{
		{"  port: 3005\n", "  port: 3005\n  httpPort: 3090\n"},
		{"clientPort: 3014}", "clientPort: 3014, httpPort: 3091}"},
		{"  chat:\n", "  chat:\n    restart: on-failure\n"},
	}
	for id, port := range metricsHTTPPorts {
		if strings.HasPrefix(id, "connector") || strings.HasPrefix(id, "chat") {
			n := id[len(id)-1] - '1'
			base := map[bool]int{true: 4050, false: 6050}[strings.HasPrefix(id, "connector")]
			old := "id: " + id + ", host: 127.0.0.1, port: " + strconv.Itoa(base+int(n))
			edits = append(edits, [2]string{old, old + ", httpPort: " + strconv.Itoa(port)})
		}
	}
	for _, e := range edits {
		if strings.Count(topology, e[0]) != 1 {
			t.Fatalf("the chat example changed: %q is not in it once", e[0])
		}
		topology = strings.Replace(topology, e[0], e[1], 1)
	}
	return topology
}

// newHTTPCluster is the chat example with an HTTP endpoint on the master
// and every server (withHTTPPorts), at an offset where those ports are
// free too.
func newHTTPCluster(t *testing.T) *testCluster {
	t.Helper()
	c := newTestCluster(t, withHTTPPorts(t, chatTopology(t)))
	var httpPorts []int
	for _, p := range metricsHTTPPorts {
		httpPorts = append(httpPorts, p)
	}
	off, err := freeport.Offset(append(slices.Clone(chatPorts), httpPorts...)...)
	if err != nil {
		t.Fatal(err)
	}
	c.offset = off
	return c
}

// scrape reads the /metrics of the endpoint on port (before the offset).
func (c *testCluster) scrape(port int) map[string]float64 {
	c.t.Helper()
	return metricstest.Scrape(c.t, c.port(port))
}

// series is a series's name in a scrape: name{k="v",...}, labels sorted.
func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// TestMetrics brings the chat example up with an HTTP endpoint on the
// master and every server, scrapes them, plays a little of the chat
// (two players enter a room on one connector, one chats to all), an
// operator's restart and a crash, scrapes again, and checks that the
// figures moved with what happened.
func TestMetrics(t *testing.T) {
	c := newHTTPCluster(t)
	c.must("up", c.file, "-d", "--timeout", "30s")
	defer c.waitNoneAlive(15 * time.Second)
	defer c.must("down")
	masterPort, connPort := metricsHTTPPorts["master-server-1"], metricsHTTPPorts["connector-server-1"]
	chatPorts := []int{metricsHTTPPorts["chat-server-1"], metricsHTTPPorts["chat-server-2"], metricsHTTPPorts["chat-server-3"]}

	m := c.scrape(masterPort)
	for name, want := range map[string]float64{
		series("pomelo_master_servers", "state", "running"):                               7,
		series("pomelo_master_servers", "state", "failed"):                                0,
		series("pomelo_master_leader"):                                                    1,
		series("pomelo_master_info", "master", "master-server-1"):                         1,
		series("pomelo_master_admin_actions_total", "action", "restart", "outcome", "ok"): 0,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("master before: %s = %v (%v), want %v", name, got, ok, want)
		}
	}
	enter := series("pomelo_requests_total", "route", "connector.entryHandler.enter", "outcome", "ok")
	send := series("pomelo_requests_total", "route", "chat.chatHandler.send", "outcome", "ok")
	before := c.scrape(connPort)
	for name, want := range map[string]float64{
		enter: 0, send: 0,
		series("pomelo_connections"): 0,
		series("pomelo_server_info", "frontend", "true", "server", "connector-server-1", "type", "connector"): 1,
	} {
		if got, ok := before[name]; !ok || got != want {
			t.Errorf("connector-server-1 before: %s = %v (%v), want %v", name, got, ok, want)
		}
	}

	// Two players on connector-server-1, in one room; bob chats to all.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var chats atomic.Int64
	dial := func(name string) *client.Client {
		cl, err := client.Dial(ctx, c.port(3050), client.Options{OnPush: func(route string, _ []byte) {
			if route == "onChat" {
				chats.Add(1)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Request(ctx, "connector.entryHandler.enter", []byte(`{"username":"`+name+`","rid":"metrics"}`)); err != nil {
			t.Fatalf("%s enters: %v", name, err)
		}
		return cl
	}
	alice, bob := dial("alice"), dial("bob")
	defer alice.Close()
	defer bob.Close()
	if _, err := bob.Request(ctx, "chat.chatHandler.send", []byte(`{"rid":"metrics","content":"hi","from":"bob","target":"*"}`)); err != nil {
		t.Fatalf("bob chats: %v", err)
	}
	waitFor(t, "onChat to both players", func() bool { return chats.Load() == 2 })

	want := map[string]float64{
		enter: 2, send: 1,
		series("pomelo_connections"): 2,
		series("pomelo_request_duration_seconds_count", "route", "chat.chatHandler.send"): 1,
		series("pomelo_pushes_total", "route", "onChat"):                                  2,
		series("pomelo_pushes_total", "route", "onAdd"):                                   1,
	}
	var after map[string]float64
	moved := func() bool {
		after = c.scrape(connPort)
		for name, v := range want {
			if after[name] != v {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(5 * time.Second)
	for !moved() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for name, v := range want {
		if got := after[name]; got != v {
			t.Errorf("connector-server-1 after: %s = %v, want %v", name, got, v)
		}
	}
	// The chat servers: the room's has the request and the channel.
	var handled, members, calls float64
	for _, p := range chatPorts {
		s := c.scrape(p)
		handled += s[send]
		members += s[series("pomelo_channel_members", "channel", "metrics")]
		for name, v := range s {
			if strings.HasPrefix(name, `pomelo_rpc_calls_total{route="sys.push",`) {
				calls += v
			}
		}
	}
	if handled != 1 || members != 2 || calls < 2 {
		t.Errorf("the chat servers: %v chat.chatHandler.send handled, %v members in the room, %v sys.push calls; want 1, 2 and at least 2 (onAdd, onChat)", handled, members, calls)
	}

	// An operator's restart, a refused kill, and a crash the policy mends.
	c.must("restart", "chat-server-2")
	if code, _, _ := c.run("kill", "nosuch"); code == 0 {
		t.Error("kill nosuch succeeded")
	}
	victim := c.ls()["chat-server-3"].Pid
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	restarts := series("pomelo_master_restarts_total", "server", "chat-server-3", "type", "chat")
	waitFor(t, "the master to restart chat-server-3", func() bool {
		m := c.scrape(masterPort)
		return m[restarts] == 1 && m[series("pomelo_master_servers", "state", "running")] == 7
	})
	m = c.scrape(masterPort)
	for name, want := range map[string]float64{
		series("pomelo_master_admin_actions_total", "action", "restart", "outcome", "ok"): 1,
		series("pomelo_master_admin_actions_total", "action", "kill", "outcome", "error"): 1,
		series("pomelo_master_failovers_total"):                                           0,
	} {
		if got := m[name]; got != want {
			t.Errorf("master after: %s = %v, want %v", name, got, want)
		}
	}

}

// TestBenchEchoMetrics runs bench echo --metrics: the echo on a frontend
// without metrics and on one with them, taking turns, and what they cost.
func TestBenchEchoMetrics(t *testing.T) {
	code, out, errOut := pomeloctl(t, "bench", "echo", "--clients", "2", "--inflight", "2", "--duration", "300ms", "--metrics", "--rounds", "2", "-o", "json")
	var got struct {
		Runs []struct {
			Name     string
			Requests int64
			Errors   int64
		}
		MetricsCost []struct{ Rate, CPU float64 }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("bench echo --metrics: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	var names []string
	for _, r := range got.Runs {
		names = append(names, r.Name)
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors; want some, and none", r.Name, r.Requests, r.Errors)
		}
	}
	want := []string{"echo, metrics off", "echo, metrics on", "echo, metrics on", "echo, metrics off"}
	if !slices.Equal(names, want) || len(got.MetricsCost) != 2 {
		t.Errorf("runs %q and %d costs; want %q and 2", names, len(got.MetricsCost), want)
	}
	code, out, errOut = pomeloctl(t, "bench", "echo", "--clients", "2", "--duration", "200ms", "--metrics")
	if code != 0 || !strings.Contains(out, "metrics change requests/s by") || !strings.Contains(out, "metrics change CPU per request by") {
		t.Errorf("bench echo --metrics: exit %d, want the costs after the table:\n%s%s", code, out, errOut)
	}
	if code, _, errOut := pomeloctl(t, "bench", "echo", "--metrics", "--addr", "127.0.0.1:1"); code != 1 || !strings.Contains(errOut, "leave out --addr") {
		t.Errorf("bench echo --metrics --addr: exit %d, %s; want 1 and a word on --addr", code, errOut)
	}
}
