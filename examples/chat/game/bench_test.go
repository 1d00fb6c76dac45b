package game

import (
	"context"
	"os"
	"path/filepath"
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
//
// go-router is the chat game in Go; expr-router the same with its router
// written in the topology; chat-expr the game in YAML alone (handler and
// router in expr); filters the Go game behind the chain of built-in and
// expression filters a production topology declares (filterChain).
func BenchmarkEchoThroughBackend(b *testing.B) {
	b.Run("go-router", func(b *testing.B) { benchEchoThroughBackend(b, "../topology.yaml", "", "") })
	b.Run("expr-router", func(b *testing.B) { benchEchoThroughBackend(b, "../topology.yaml", RoomRouter, "") })
	b.Run("chat-expr", func(b *testing.B) { benchEchoThroughBackend(b, chatExpr, "", "") })
	b.Run("filters", func(b *testing.B) { benchEchoThroughBackend(b, "../topology.yaml", "", filterChain) })
}

// filterChain is what requests pass in the filters benchmark: a bound on
// requests in flight and on their time, and a predicate in expr. (serial
// is left out: it holds each session to one request at a time, which is
// what it is for, and would measure that rather than its cost.)
const filterChain = `
filters:
  before:
    - {name: toobusy, maxInflight: 100000}
    - {name: timeout, timeout: 5s}
    - {expr: 'route != "" && session.id > 0', code: 401}
`

// benchEchoThroughBackend runs the echo against the topology in file: with
// router written in it, when not "", instead of the game's Go router; and
// with filters (a top-level filters: section) added.
func benchEchoThroughBackend(b *testing.B, file, router, filters string) {
	offset, err := freeport.Offset(3050, 4050, 6050)
	if err != nil {
		b.Fatal(err)
	}
	if filters != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		for _, f := range []string{"serverProtos.json"} {
			if err := os.Link(filepath.Join(filepath.Dir(file), f), filepath.Join(dir, f)); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "web"), 0o755); err != nil { // the folder its web section serves
			b.Fatal(err)
		}
		file = filepath.Join(dir, "topology.yaml")
		if err := os.WriteFile(file, append(data, filters...), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	top, _, err := topology.Load(file, topology.Options{PortOffset: &offset})
	if err != nil {
		b.Fatal(err)
	}
	// One chat server runs: the only one declared, since requests for a
	// declared server that is not running wait for it.
	chat := top.Types.Get("chat")
	chat.Servers = chat.Servers[:1]
	c := newCluster(b, top)
	switch {
	case router != "":
		chat.Router = topology.Expr{Source: router}
		c.app = Handlers()
	case file == chatExpr:
		c.app = nil
	}
	c.run("chat-server-1")
	c.waitMembers(1) // the connector's first view has the chat server
	c.run("connector-server-1")
	b.ResetTimer()
	res, err := bench.Echo(context.Background(), bench.EchoConfig{Addr: "127.0.0.1:" + strconv.Itoa(3050+offset), Clients: 100, InFlight: 10,
		Duration: time.Duration(b.N) * 100 * time.Millisecond, Route: "chat.chatHandler.echo", Size: 16})
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors > 0 {
		b.Fatalf("%d requests failed; the first: %s", res.Errors, res.FirstErr)
	}
	b.ReportMetric(res.PerSecond, "req/s")
}

// BenchmarkFanout is chatofpomelo's fan-out with the whole chat cluster in
// this process: 300 users in one room, each sending a message a second, so
// that every message is pushed to all 300 (90,000 pushes a second offered):
//
//	go test -run '^$' -bench Fanout -benchtime 5x -cpuprofile cpu.out ./examples/chat/game/
//
// Each iteration is one second of sending.
//
// go is the game in Go; chat-expr the game in YAML alone.
func BenchmarkFanout(b *testing.B) {
	b.Run("go", func(b *testing.B) { benchFanout(b, runChat(b)) })
	b.Run("chat-expr", func(b *testing.B) { benchFanout(b, runExample(b, chatExpr, nil)) })
}

func benchFanout(b *testing.B, offset int) {
	b.ResetTimer()
	res, err := bench.Fanout(context.Background(), bench.FanoutConfig{Login: bench.Login{Gate: "127.0.0.1:" + strconv.Itoa(3014+offset)},
		Users: 300, Rate: 1, Duration: time.Duration(b.N) * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	if res.Delivered != res.Expected {
		b.Errorf("%d of %d pushes delivered", res.Delivered, res.Expected)
	}
	b.ReportMetric(res.PerSecond, "pushes/s")
	b.ReportMetric(float64(res.Latency.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(res.Latency.P99.Microseconds())/1000, "p99-ms")
}

// BenchmarkConnect is chatofpomelo's login (the gate's queryEntry, a
// handshake with the connector it names, enter into a room of 20) with the
// whole chat cluster in this process, 50 logins at a time:
//
//	go test -run '^$' -bench Connect -benchtime 3000x -cpuprofile cpu.out ./examples/chat/game/
func BenchmarkConnect(b *testing.B) {
	offset := runChat(b)
	b.ResetTimer()
	res, err := bench.Connect(context.Background(), bench.ConnectConfig{Gate: "127.0.0.1:" + strconv.Itoa(3014+offset),
		Clients: b.N, Concurrency: 50, RoomSize: 20})
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors != 0 {
		b.Errorf("%d logins failed; the first: %s", res.Errors, res.FirstErr)
	}
	b.ReportMetric(res.PerSecond, "logins/s")
	b.ReportMetric(float64(res.Latency.P99.Microseconds())/1000, "p99-ms")
}
