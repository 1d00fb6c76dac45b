package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pomeloctl/pomeloctl/engine/bench"
)

// TestBenchAgainstTheChatDemo runs the cluster benchmarks against the chat
// demo as `pomeloctl up` runs it, finding the gate and the servers through
// the master, in small bounded numbers: what they report must add up.
//
// The servers also run with $POMELOCTL_CPUPROFILE, and each must leave its
// CPU profile.
func TestBenchAgainstTheChatDemo(t *testing.T) {
	profiles := t.TempDir()
	t.Setenv("POMELOCTL_CPUPROFILE", profiles)
	c := newTestCluster(t, chatTopology(t))
	c.must("up", c.file, "-d", "--timeout", "30s")
	defer c.must("down")

	var conn []bench.ConnectResult
	decode(t, c.must("bench", "connect", "--clients", "40", "--concurrency", "8", "--baseline", "-o", "json"), &conn)
	if len(conn) != 2 {
		t.Fatalf("connect --baseline: %d results, want 2", len(conn))
	}
	for _, r := range conn {
		if r.LoggedIn != 40 || r.Errors != 0 || r.PerSecond <= 0 || r.Latency.P99 <= 0 {
			t.Errorf("connect: %+v", r)
		}
	}

	var fan bench.FanoutResult
	decode(t, c.must("bench", "fanout", "--users", "30", "--room-size", "10", "--rate", "4", "--duration", "1s", "-o", "json"), &fan)
	if fan.Users != 30 || fan.Sent < 30 || fan.SendErrors != 0 || fan.Expected != fan.Sent*10 || fan.Delivered != fan.Expected {
		t.Errorf("fanout: %+v; want every user sending and every push (10 a message) delivered", fan)
	}
	if fan.Latency.P50 <= 0 || fan.Latency.P99 < fan.Latency.P50 || fan.FirstErr != "" {
		t.Errorf("fanout latency: %+v, %q", fan.Latency, fan.FirstErr)
	}

	var idle bench.IdleResult
	decode(t, c.must("bench", "idle", "--cluster", "--clients", "30", "--room-size", "10", "--hold", "100ms", "-o", "json"), &idle)
	if idle.Processes != 7 || idle.Connected != 30 || idle.PSSBefore <= 0 || idle.PSSAfter <= 0 {
		t.Errorf("idle: %+v; want 30 clients and the 7 servers measured", idle)
	}

	// without a cluster: an echo frontend in a child process
	decode(t, c.must("bench", "idle", "--clients", "20", "--hold", "100ms", "-o", "json"), &idle)
	if idle.Processes != 1 || idle.Connected != 20 || idle.PSSAfter <= 0 {
		t.Errorf("idle of an echo frontend: %+v", idle)
	}

	code, _, errOut := c.run("bench", "fanout", "--users", "0")
	if code != exitFailure || !strings.Contains(errOut, "--users and --rate must be above 0") {
		t.Errorf("fanout --users 0: exit %d, %s", code, errOut)
	}
	c.must("down")
	for _, id := range []string{"gate-server-1", "connector-server-1", "connector-server-2", "connector-server-3", "chat-server-1", "chat-server-2", "chat-server-3"} {
		if fi, err := os.Stat(filepath.Join(profiles, id+".cpu")); err != nil || fi.Size() == 0 {
			t.Errorf("%s left no CPU profile: %v", id, err)
		}
	}
	code, _, errOut = c.run("bench", "connect", "--clients", "1")
	if code != exitUnreachable || !strings.Contains(errOut, "no --gate given, and the master could not name one: no master answers") {
		t.Errorf("connect with no cluster: exit %d, %s", code, errOut)
	}
}

func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
}
