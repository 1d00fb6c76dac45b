package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/rpc"
)

// value is the figure of the series name{labels} in g (a counter's or a
// gauge's value, a histogram's count), and whether there is one.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue series
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func wantValue(t *testing.T, g prometheus.Gatherer, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(t, g, name, labels...)
	if !ok {
		t.Errorf("%s%v: no such series, want %v", name, labels, want)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func TestServerRequests(t *testing.T) {
	s := NewServer(ServerConfig{ID: "connector-server-1", Type: "connector", Frontend: true, Routes: []string{"chat.chatHandler.send", "connector.entryHandler.enter"}})
	g := s.Gatherer()
	// Every known route has its series from the start.
	wantValue(t, g, 0, "pomelo_requests_total", "route", "connector.entryHandler.enter", "outcome", OutcomeOK)
	s.Handled("chat.chatHandler.send", time.Millisecond, nil)
	s.Handled("chat.chatHandler.send", 3*time.Millisecond, nil)
	s.Handled("chat.chatHandler.send", time.Second, errors.New("no room"))
	s.RouteBytes([]byte("connector.entryHandler.enter")).Observe(time.Millisecond, nil)
	// A client's route the server does not know is not a label of its own.
	s.Handled("chat.chatHandler.whatever", time.Millisecond, nil)
	s.RouteBytes([]byte("x.y.z")).Observe(time.Millisecond, errors.New("no handler"))

	wantValue(t, g, 2, "pomelo_requests_total", "route", "chat.chatHandler.send", "outcome", OutcomeOK)
	wantValue(t, g, 1, "pomelo_requests_total", "route", "chat.chatHandler.send", "outcome", OutcomeError)
	wantValue(t, g, 3, "pomelo_request_duration_seconds", "route", "chat.chatHandler.send")
	wantValue(t, g, 1, "pomelo_requests_total", "route", "connector.entryHandler.enter", "outcome", OutcomeOK)
	wantValue(t, g, 1, "pomelo_requests_total", "route", UnknownRoute, "outcome", OutcomeOK)
	wantValue(t, g, 1, "pomelo_requests_total", "route", UnknownRoute, "outcome", OutcomeError)
	if _, ok := value(t, g, "pomelo_requests_total", "route", "chat.chatHandler.whatever"); ok {
		t.Error("an unknown route got a series of its own")
	}
	wantValue(t, g, 1, "pomelo_server_info", "server", "connector-server-1", "type", "connector", "frontend", "true")
	if _, ok := value(t, g, "go_goroutines"); !ok {
		t.Error("no go_goroutines: the Go runtime's metrics are missing")
	}
}

func TestServerPushesAndRPC(t *testing.T) {
	s := NewServer(ServerConfig{ID: "chat-server-1", Type: "chat"})
	g := s.Gatherer()
	s.Pushed("onChat", 3)
	s.Pushed("onChat", 2)
	s.Pushed("onAdd", 0) // nobody reached: no series made for it
	wantValue(t, g, 5, "pomelo_pushes_total", "route", "onChat")
	if _, ok := value(t, g, "pomelo_pushes_total", "route", "onAdd"); ok {
		t.Error("a push that reached nobody made a series")
	}

	for _, c := range []struct {
		err    error
		reason string
	}{
		{nil, ""}, // counted as a call, not an error
		{fmt.Errorf("call: %w", rpc.ErrPeerGone), "gone"},
		{rpc.ErrStopping, "stopping"},
		{&rpc.RemoteError{Server: "connector-server-1", Route: "sys.bind", Msg: "no session 3"}, "remote"},
		{&rpc.RemoteError{Server: "connector-server-1", Route: "sys.bind", Msg: context.DeadlineExceeded.Error()}, "timeout"},
		{context.DeadlineExceeded, "timeout"},
		{errors.New("strange"), "other"},
	} {
		s.Called("sys.bind", "connector-server-1", c.err)
	}
	wantValue(t, g, 7, "pomelo_rpc_calls_total", "route", "sys.bind", "target", "connector-server-1")
	for reason, want := range map[string]float64{"gone": 1, "stopping": 1, "remote": 1, "timeout": 2, "other": 1} {
		wantValue(t, g, want, "pomelo_rpc_errors_total", "route", "sys.bind", "target", "connector-server-1", "reason", reason)
	}
}

func TestServerGauges(t *testing.T) {
	s := NewServer(ServerConfig{ID: "connector-server-1", Type: "connector", Frontend: true})
	conns := 4
	s.CountConnections(func() int { return conns })
	local := map[string]int{"room-1": 3, "room-2": 1}
	s.CountChannels(func() map[string]int { return local }, func() map[string]int { return map[string]int{"world": 7} })
	g := s.Gatherer()
	wantValue(t, g, 4, "pomelo_connections")
	conns = 2 // read when scraped
	wantValue(t, g, 2, "pomelo_connections")
	wantValue(t, g, 3, "pomelo_channel_members", "channel", "room-1")
	wantValue(t, g, 1, "pomelo_channel_members", "channel", "room-2")
	wantValue(t, g, 7, "pomelo_global_channel_members", "channel", "world")
	delete(local, "room-2")
	if _, ok := value(t, g, "pomelo_channel_members", "channel", "room-2"); ok {
		t.Error("a destroyed channel is still told")
	}
}

// A nil Server is a server without an HTTP endpoint: it counts nothing,
// and its callers need not check.
func TestNilServer(t *testing.T) {
	var s *Server
	s.Handled("a.b.c", time.Millisecond, nil)
	s.Route("a.b.c").Observe(time.Millisecond, nil)
	s.RouteBytes([]byte("a.b.c")).Observe(time.Millisecond, nil)
	s.Pushed("onChat", 1)
	s.Called("sys.push", "x", errors.New("x"))
	s.CountConnections(func() int { return 1 })
	s.CountChannels(nil, nil)
	var m *Master
	m.SetServers(func(lifecycle.State) int { return 1 })
	m.Restarted("a", "b")
	m.FailedOver()
	m.Leading(true, 1)
	m.Acted("kill", nil)
}

func TestChildrenLimit(t *testing.T) {
	made := 0
	c := newChildren(3, "other", func(k string) string { made++; return "child of " + k })
	for _, k := range []string{"a", "b", "a", "c", "d", "e", "b"} {
		c.get(k)
	}
	for k, want := range map[string]string{"a": "child of a", "c": "child of c", "d": "child of other", "e": "child of other"} {
		if got := c.get(k); got != want {
			t.Errorf("get(%q) = %q, want %q", k, got, want)
		}
	}
	if made != 4 { // a, b, c, other
		t.Errorf("made %d children, want 4", made)
	}
}

func TestMaster(t *testing.T) {
	m := NewMaster("master-server-1")
	g := m.Gatherer()
	for _, a := range AdminActions {
		wantValue(t, g, 0, "pomelo_master_admin_actions_total", "action", a, "outcome", OutcomeOK)
	}
	m.Leading(true, 7)
	counts := map[lifecycle.State]int{lifecycle.Running: 5, lifecycle.Backoff: 1}
	m.SetServers(func(st lifecycle.State) int { return counts[st] })
	m.Restarted("chat-server-1", "chat")
	m.Restarted("chat-server-1", "chat")
	m.FailedOver()
	m.Acted("kill", nil)
	m.Acted("restart", errors.New("no server x"))

	wantValue(t, g, 1, "pomelo_master_leader")
	wantValue(t, g, 7, "pomelo_master_epoch")
	wantValue(t, g, 5, "pomelo_master_servers", "state", "running")
	wantValue(t, g, 1, "pomelo_master_servers", "state", "backoff")
	wantValue(t, g, 0, "pomelo_master_servers", "state", "failed")
	wantValue(t, g, 2, "pomelo_master_restarts_total", "server", "chat-server-1", "type", "chat")
	wantValue(t, g, 1, "pomelo_master_failovers_total")
	wantValue(t, g, 1, "pomelo_master_admin_actions_total", "action", "kill", "outcome", OutcomeOK)
	wantValue(t, g, 1, "pomelo_master_admin_actions_total", "action", "restart", "outcome", OutcomeError)
	wantValue(t, g, 1, "pomelo_master_info", "master", "master-server-1")

	// A term that ends leaves a standby, which knows no server's state.
	m.Leading(false, 7)
	wantValue(t, g, 0, "pomelo_master_leader")
	wantValue(t, g, 0, "pomelo_master_servers", "state", "running")
}

var quiet = slog.New(slog.DiscardHandler)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, string(b)
}

func TestEndpoint(t *testing.T) {
	s := NewServer(ServerConfig{ID: "chat-server-1", Type: "chat", Routes: []string{"chat.chatHandler.send"}})
	s.Handled("chat.chatHandler.send", time.Millisecond, nil)
	e := NewEndpoint("127.0.0.1:0", s.Gatherer(), quiet)
	// A handler of the server's own, beside /metrics (a /ready, say).
	e.Handle("GET /ready", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	base := "http://" + e.Addr().String()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `pomelo_requests_total{outcome="ok",route="chat.chatHandler.send"} 1`) {
		t.Errorf("GET /metrics: %d\n%s\nwant 200 with the request counted", code, body)
	}
	if code, body := get(t, base+"/ready"); code != http.StatusOK || body != "ok" {
		t.Errorf("GET /ready: %d %q, want 200 ok", code, body)
	}

	// A port that is taken is an error that names the address.
	taken := NewEndpoint(e.Addr().String(), s.Gatherer(), quiet)
	err := taken.Provision(ctx)
	if err == nil || !strings.Contains(err.Error(), e.Addr().String()) || !strings.Contains(err.Error(), "httpPort") {
		t.Errorf("a second endpoint on %s: got %v, want an error naming the address and httpPort", e.Addr(), err)
	}

	// The endpoint ends with its context.
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", e.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the endpoint still accepts connections after its context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.Stop(context.Background()); err != nil {
		t.Errorf("Stop after the context ended: %v", err)
	}
}

// An endpoint provisioned but never started lets go of its port.
func TestEndpointStopUnstarted(t *testing.T) {
	e := NewEndpoint("127.0.0.1:0", prometheus.NewRegistry(), quiet)
	if err := e.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := e.Addr().String()
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port of a stopped endpoint is still taken: %v", err)
	}
	ln.Close()
}

// What a request pays for metrics on the hot path.
func BenchmarkHandled(b *testing.B) {
	routes := []string{"connector.entryHandler.enter", "chat.chatHandler.send", "chat.chatHandler.echo", "gate.gateHandler.queryEntry"}
	s := NewServer(ServerConfig{ID: "connector-server-1", Type: "connector", Frontend: true, Routes: routes})
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Handled(routes[i%len(routes)], 300*time.Microsecond, nil)
			i++
		}
	})
}

func BenchmarkCalled(b *testing.B) {
	targets := []string{"chat-server-1", "chat-server-2", "chat-server-3"}
	s := NewServer(ServerConfig{ID: "connector-server-1", Type: "connector", Frontend: true})
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Called("sys.forward", targets[i%len(targets)], nil)
			i++
		}
	})
}

func BenchmarkPushed(b *testing.B) {
	s := NewServer(ServerConfig{ID: "connector-server-1", Type: "connector", Frontend: true})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Pushed("onChat", 1)
		}
	})
}
