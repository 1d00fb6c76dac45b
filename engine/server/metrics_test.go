package server

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/internal/metricstest"
	"github.com/pomeloctl/pomeloctl/topology"
)

// scrapeSeries reads addr's /metrics.
func scrapeSeries(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	return metricstest.Scrape(t, addr)
}

// TestMetrics runs a connector and the chat servers, alone (no master),
// each with an HTTP endpoint, plays a request that a backend handles by
// joining a channel and pushing to it, and reads what each server's
// /metrics says; the endpoints go when their servers stop.
func TestMetrics(t *testing.T) {
	ports := []int{3014, 3050, 3051, 3052, 4050, 4051, 4052, 6050, 6051, 6052, 9050, 9060, 9061, 9062}
	offset, err := freeport.Offset(ports...)
	if err != nil {
		t.Fatal(err)
	}
	top, _, err := topology.Load("../../examples/chat/topology.yaml", topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	for id, port := range map[string]int{"connector-server-1": 9050, "chat-server-1": 9060, "chat-server-2": 9061, "chat-server-3": 9062} {
		top.Server(id).HTTPPort = port + offset
	}
	addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port+offset) }
	app := NewApp()
	app.Handle("chat.chatHandler.join", func(ctx context.Context, s *BackendSession, _ json.RawMessage) (any, error) {
		if err := s.Bind(ctx, "alice"); err != nil {
			return nil, err
		}
		ch := s.Services().Channels().Get("lobby", true)
		ch.Add("alice", s.FrontendID())
		return map[string]int{"code": 200}, ch.Push(ctx, "onJoin", map[string]string{"who": "alice"})
	})
	var stops []func()
	for _, id := range []string{"chat-server-1", "chat-server-2", "chat-server-3", "connector-server-1"} {
		stops = append(stops, runServer(t, Config{Topology: top, ID: id, App: app}))
	}

	pushed := make(chan string, 1)
	ctx := context.Background()
	c, err := client.Dial(ctx, addr(3050), client.Options{OnPush: func(route string, _ []byte) { pushed <- route }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := requestJSON(t, c, "chat.chatHandler.join", `{}`, 5*time.Second); got["code"] != float64(200) {
		t.Fatalf("join: %v", got)
	}
	select {
	case <-pushed:
	case <-time.After(5 * time.Second):
		t.Fatal("no onJoin push")
	}
	requestJSON(t, c, "chat.chatHandler.nosuch", `{}`, 5*time.Second)

	fe := scrapeSeries(t, addr(9050))
	for name, want := range map[string]float64{
		`pomelo_requests_total{outcome="ok",route="chat.chatHandler.join"}`:    1,
		`pomelo_requests_total{outcome="error",route="unknown"}`:               1,
		`pomelo_request_duration_seconds_count{route="chat.chatHandler.join"}`: 1,
		`pomelo_pushes_total{route="onJoin"}`:                                  1,
		`pomelo_connections`:                                                   1,
	} {
		if got := fe[name]; got != want {
			t.Errorf("connector-server-1: %s = %v, want %v", name, got, want)
		}
	}
	forwards := 0.0
	for name, v := range fe {
		if strings.HasPrefix(name, `pomelo_rpc_calls_total{route="sys.forward",target="chat-server-`) {
			forwards += v
		}
	}
	if forwards != 2 {
		t.Errorf("connector-server-1 forwarded %v requests, want 2", forwards)
	}
	var handled, members, binds, pushes, unknown float64
	for _, p := range []int{9060, 9061, 9062} {
		s := scrapeSeries(t, addr(p))
		handled += s[`pomelo_requests_total{outcome="ok",route="chat.chatHandler.join"}`]
		unknown += s[`pomelo_requests_total{outcome="error",route="unknown"}`]
		members += s[`pomelo_channel_members{channel="lobby"}`]
		binds += s[`pomelo_rpc_calls_total{route="sys.bind",target="connector-server-1"}`]
		pushes += s[`pomelo_rpc_calls_total{route="sys.push",target="connector-server-1"}`]
	}
	if handled != 1 || unknown != 1 || members != 1 || binds != 1 || pushes != 1 {
		t.Errorf("the chat servers: %v joins, %v unknown routes, %v lobby members, %v sys.bind and %v sys.push calls; want 1 of each", handled, unknown, members, binds, pushes)
	}

	for _, stop := range stops {
		stop()
	}
	for _, p := range []int{9050, 9060, 9061, 9062} {
		if conn, err := net.DialTimeout("tcp", addr(p), time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still answers once its server stopped", addr(p))
		}
	}
}
