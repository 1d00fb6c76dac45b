package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// ready is what the readiness endpoint on port (before the offset) says:
// its status and its body.
func (c *testCluster) ready(port int) (int, string) {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get("http://" + c.port(port) + "/ready")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestDrain: a drained connector is handed out by the gate no more and its
// readiness endpoint answers 503 while its player plays on; it stays
// drained across a restart until undrained; a backend cannot be drained.
func TestDrain(t *testing.T) {
	c := newHTTPCluster(t)
	c.must("up", c.file, "-d", "--timeout", "30s")
	defer c.waitNoneAlive(15 * time.Second)
	defer c.must("down")
	conn1 := metricsHTTPPorts["connector-server-1"]
	for id, p := range metricsHTTPPorts {
		if code, body := c.ready(p); id != "master-server-1" && (code != 200 || body != "ready") {
			t.Errorf("%s /ready: %d %q, want 200 ready", id, code, body)
		}
	}

	ctx := context.Background()
	player, err := client.Dial(ctx, c.port(3050), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	if _, err := player.Request(ctx, "connector.entryHandler.enter", []byte(`{"username":"stay","rid":"r1"}`)); err != nil {
		t.Fatal(err)
	}
	gate, err := client.Dial(ctx, c.port(3014), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	handedOut := func() map[string]bool {
		seen := map[string]bool{}
		for i := range 60 {
			var e struct{ Port int }
			body := queryEntry(ctx, t, gate, "u"+strconv.Itoa(i))
			if _, err := fmt.Sscanf(body[strings.Index(body, `"port":`)+7:], "%d", &e.Port); err != nil {
				t.Fatalf("queryEntry: %s", body)
			}
			seen[strconv.Itoa(e.Port-c.offset)] = true
		}
		return seen
	}
	if seen := handedOut(); !seen["3050"] || !seen["3051"] || !seen["3052"] {
		t.Fatalf("before the drain the gate handed out %v, want every connector", seen)
	}

	if out := c.must("drain", "connector-server-1"); out != "connector-server-1 draining\n" {
		t.Errorf("drain said %q", out)
	}
	waitFor(t, "connector-server-1's /ready to answer 503", func() bool {
		code, body := c.ready(conn1)
		return code == 503 && body == "draining"
	})
	waitFor(t, "the gate to hand out connector-server-1 no more", func() bool { return !handedOut()["3050"] })
	if s := c.ls()["connector-server-1"]; !s.Draining || s.State != "running" {
		t.Errorf("ls: %+v, want running and draining", s)
	}
	if out := c.must("ls"); !strings.Contains(out, "connector-server-1  connector  draining") {
		t.Errorf("the ls table does not show it draining:\n%s", out)
	}
	for _, id := range []string{"connector-server-2", "connector-server-3"} {
		if code, _ := c.ready(metricsHTTPPorts[id]); code != 200 {
			t.Errorf("%s /ready: %d, want 200", id, code)
		}
	}
	if resp, err := player.Request(ctx, "chat.chatHandler.echo", []byte(`{"n":1}`)); err != nil || !strings.Contains(string(resp), `"code":200`) {
		t.Errorf("the player on the drained connector: %s, %v; want it to play on", resp, err)
	}
	code, _, errOut := c.run("drain", "chat-server-1")
	if code != 1 || !strings.Contains(errOut, "chat-server-1 is a chat, not a frontend") {
		t.Errorf("drain of a backend: exit %d, %s", code, errOut)
	}

	c.must("restart", "connector-server-1")
	if s := c.ls()["connector-server-1"]; !s.Draining || s.State != "running" {
		t.Errorf("after its restart: %+v, want it running and still draining", s)
	}
	waitFor(t, "the restarted connector's /ready to answer 503", func() bool {
		code, body := c.ready(conn1)
		return code == 503 && body == "draining"
	})
	if handedOut()["3050"] {
		t.Error("the gate hands out the drained connector after its restart")
	}

	if out := c.must("undrain", "connector-server-1"); out != "connector-server-1 back in rotation\n" {
		t.Errorf("undrain said %q", out)
	}
	waitFor(t, "connector-server-1's /ready to answer 200", func() bool { code, _ := c.ready(conn1); return code == 200 })
	waitFor(t, "the gate to hand out connector-server-1 again", func() bool { return handedOut()["3050"] })
	if s := c.ls()["connector-server-1"]; s.Draining {
		t.Errorf("after undrain: %+v", s)
	}
}
