package game

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/bench"
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
	c := newCluster(b, top)
	c.run("chat-server-1")
	c.waitMembers(1) // the connector's first view has the chat server
	c.run("connector-server-1")
	b.ResetTimer()
	res, err := bench.Echo(context.Background(), bench.EchoConfig{Addr: "127.0.0.1:" + strconv.Itoa(3050+offset), Clients: 100, InFlight: 10,
		Duration: time.Duration(b.N) * 100 * time.Millisecond, Route: "chat.chatHandler.echo", Size: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond, "req/s")
}
