package main

import (
	"maps"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
)

// The figures of BENCHMARKS.md's "Adopting a cluster": how long `up -d`
// takes to adopt servers that outlived their master (kill -9), until every
// one of them has registered with the new master again.
//
//	go test ./cmd/pomeloctl -run '^$' -bench Adopt -benchtime 5x

// masterDeadFor is how long the master stays dead before `up` runs again in
// the benchmarks. An operator takes seconds to notice and type `up`; by then
// every server's agent has backed off to its longest wait between attempts
// (100ms doubling to 5s: 6.3s at most to get there), which is the case to
// measure, not the one where `up` follows the kill within a few attempts.
const masterDeadFor = 8 * time.Second

// BenchmarkAdoptChat adopts the chat example's 7 servers.
func BenchmarkAdoptChat(b *testing.B) {
	benchAdopt(b, chatTopology(b), chatPorts, 7)
}

// BenchmarkAdoptHundred adopts 100 servers: a gate, 3 connectors and 96
// chat servers, each a process of the chat game.
func BenchmarkAdoptHundred(b *testing.B) {
	ports := []int{3005, 3014}
	for i := range 3 {
		ports = append(ports, 3050+i, 4050+i)
	}
	for i := range 96 {
		ports = append(ports, 6050+i)
	}
	benchAdopt(b, hundredServers, ports, 100)
}

const hundredServers = `
master:
  host: 127.0.0.1
  port: 3005
  users: [{id: user-1, username: admin, password: admin, level: 1}]
defaults:
  command: ./chat
protos:
  server: serverProtos.json
servers:
  gate:
    frontend: true
    instances: [{id: gate-server-1, host: 127.0.0.1, clientPort: 3014}]
  connector:
    frontend: true
    cluster: {count: 3, port: "4050++", clientPort: "3050++"}
  chat:
    cluster: {count: 96, port: "6050++"}
`

func benchAdopt(b *testing.B, topology string, ports []int, servers int) {
	c := newTestCluster(b, topology)
	off, err := freeport.Offset(ports...)
	if err != nil {
		b.Fatal(err)
	}
	c.offset = off
	c.must("up", c.file, "-d", "--timeout", "120s")
	defer func() {
		// Down even when the benchmark fails: the cleanup's SIGKILL is for
		// what down could not stop.
		if code, out, errOut := c.run("down"); code != 0 {
			b.Errorf("down: exit %d\n%s%s", code, out, errOut)
		}
	}()
	pids := func() map[string]int {
		b.Helper()
		recs, err := c.runDir().Servers()
		if err != nil {
			b.Fatal(err)
		}
		out := map[string]int{}
		for _, r := range recs {
			c.note(r.Pid)
			out[r.ID] = r.Pid
		}
		return out
	}
	before := pids()
	if len(before) != servers {
		b.Fatalf("%d servers recorded, want %d", len(before), servers)
	}
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		rec, err := c.runDir().Master()
		if err != nil {
			b.Fatal(err)
		}
		c.note(rec.Pid)
		if err := syscall.Kill(rec.Pid, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		waitMasterDead(b, rec)
		time.Sleep(masterDeadFor)
		start := time.Now()
		out := c.must("up", c.file, "-d", "--timeout", "120s")
		total += time.Since(start)
		if !strings.Contains(out, "cluster ready in") {
			b.Fatalf("up: %s", out)
		}
		if after := pids(); !maps.Equal(after, before) {
			b.Fatalf("the servers were not adopted: pids %v before the master died, %v after", before, after)
		}
	}
	// up's wall time is the figure, not the loop's (which sleeps while the
	// master is dead).
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/adopt")
}

// waitMasterDead waits until the killed master's process is gone (reaped or
// a zombie), as `up` requires before it starts another.
func waitMasterDead(b *testing.B, rec master.MasterRecord) {
	b.Helper()
	for deadline := time.Now().Add(10 * time.Second); rec.Alive(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("the master (pid %d) still runs 10s after SIGKILL", rec.Pid)
		}
	}
}
