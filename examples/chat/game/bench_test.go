package game

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/bench"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/topology"
)

// BenchmarkEchoThroughBackend is chat.chatHandler.echo through a connector
// and a chat server in this process, for profiling the forwarding path:
//
//	go test -run '^$' -bench EchoThroughBackend -cpuprofile cpu.out ./examples/chat/game/
func BenchmarkEchoThroughBackend(b *testing.B) {
	offset, err := freeport.Offset(3050, 4050, 6050)
	if err != nil {
		b.Fatal(err)
	}
	top, _, err := topology.Load("../topology.yaml", topology.Options{PortOffset: &offset})
	if err != nil {
		b.Fatal(err)
	}
	hub := monitor.NewHub(monitor.HubConfig{MasterID: "m", Settle: -1, Tokens: func(_, _ string) (string, bool) { return "t", true }, Logger: quiet()})
	hs := httptest.NewServer(hub)
	defer func() { hub.Close(); hs.Close() }()
	for _, id := range []string{"chat-server-1", "connector-server-1"} {
		ctx, cancel := context.WithCancel(context.Background())
		done, ready := make(chan error, 1), make(chan struct{})
		go func() {
			done <- server.Run(ctx, server.Config{Topology: top, ID: id, Master: strings.TrimPrefix(hs.URL, "http://"), Token: "t", App: App(), Logger: quiet(), Ready: func() { close(ready) }})
		}()
		<-ready
		defer func() { cancel(); <-done }()
		for len(hub.Members()) < 1 {
			time.Sleep(time.Millisecond)
		}
	}
	b.ResetTimer()
	res, err := bench.Echo(context.Background(), bench.EchoConfig{Addr: "127.0.0.1:" + strconv.Itoa(3050+offset), Clients: 100, InFlight: 10,
		Duration: time.Duration(b.N) * 100 * time.Millisecond, Route: "chat.chatHandler.echo", Size: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond, "req/s")
}
