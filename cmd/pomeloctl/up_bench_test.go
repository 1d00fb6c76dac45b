package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/proc"
)

// The figures of BENCHMARKS.md's "Starting a cluster": how long `up -d`
// takes until every server runs, and what the idle cluster costs in memory
// (summed PSS of the master and every server).
//
//	go test ./cmd/pomeloctl -run '^$' -bench Up -benchtime 10x

// BenchmarkUpChat starts the chat example: the master and 7 servers, the 8
// processes of chatofpomelo.
func BenchmarkUpChat(b *testing.B) { benchUp(b, chatTopology(b), 8) }

// BenchmarkUpTwelve starts 12 servers: a gate, 4 connectors and 7 backends.
func BenchmarkUpTwelve(b *testing.B) { benchUp(b, twelveServers, 13) }

const twelveServers = `
master: {host: 127.0.0.1, port: 3005}
servers:
  gate:
    frontend: true
    instances: [{id: gate-server-1, clientPort: 3014}]
  connector:
    frontend: true
    cluster: {count: 4, port: "4050++", clientPort: "3050++"}
  chat:
    cluster: {count: 4, port: "6050++"}
  area:
    cluster: {count: 3, port: "5050++"}
`

func benchUp(b *testing.B, topology string, processes int) {
	c := newTestCluster(b, topology)
	var pss int64
	var total time.Duration
	for i := range b.N {
		start := time.Now()
		out := c.must("up", c.file, "-d", "--timeout", "30s")
		total += time.Since(start)
		if i == 0 {
			pids := []int{c.masterPid()}
			recs, err := c.runDir().Servers()
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range recs {
				pids = append(pids, r.Pid)
			}
			if len(pids) != processes {
				b.Fatalf("%d processes, want %d:\n%s", len(pids), processes, out)
			}
			time.Sleep(2 * time.Second) // idle: the first heartbeats and GCs are over
			for _, pid := range pids {
				n, err := proc.PSS(pid)
				if err != nil {
					b.Fatal(err)
				}
				pss += n
			}
		}
		if !strings.Contains(c.must("down"), "cluster down") {
			b.Fatal("down did not say the cluster is down")
		}
	}
	// up's wall time is the figure, not the loop's (which includes down).
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/up")
	b.ReportMetric(float64(pss)/(1<<20), "MiB-PSS")
}
