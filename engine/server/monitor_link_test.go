package server

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/topology"
)

// hubFor serves a monitor hub that takes the chat example's servers with
// token "s3cret".
func hubFor(t *testing.T) (*monitor.Hub, string) {
	t.Helper()
	hub := monitor.NewHub(monitor.HubConfig{
		MasterID: "master-server-1",
		Settle:   -1,
		Tokens:   func(_, _ string) (string, bool) { return "s3cret", true },
		Logger:   quiet(),
	})
	srv := httptest.NewServer(hub)
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return hub, strings.TrimPrefix(srv.URL, "http://")
}

// TestMonitorLink runs a backend under a master: it registers, runs its
// afterStartAll hooks once however often the master asks, and says bye
// when it stops.
func TestMonitorLink(t *testing.T) {
	top, offset := chatTopology(t)
	hub, addr := hubFor(t)
	_, events := hub.Subscribe(t.Context())
	var ran atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Topology: top, ID: "chat-server-2", Master: addr, Token: "s3cret", Logger: quiet(),
			Hooks: Hooks{AfterStartAll: []func(context.Context) error{func(context.Context) error { ran.Add(1); return nil }}}})
	}()
	ev := next(t, events)
	if ev.Kind != monitor.Joined || ev.Member.ID != "chat-server-2" || ev.Member.Port != 6051+offset || ev.Member.Type != "chat" {
		t.Fatalf("want chat-server-2 to join, got %+v", ev)
	}
	for range 2 {
		if err := hub.Command(t.Context(), "chat-server-2", monitor.CommandAfterStartAll, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("afterStartAll ran %d times, want once", n)
	}
	if err := hub.Command(t.Context(), "chat-server-2", "nosuch", nil); err == nil || !strings.Contains(err.Error(), `no command "nosuch"`) {
		t.Errorf("an unknown command: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stop: %v", err)
	}
	for ev := next(t, events); ; ev = next(t, events) {
		if ev.Kind == monitor.Left {
			if !ev.Bye {
				t.Errorf("left without a bye: %+v", ev)
			}
			break
		}
	}
}

// TestMonitorLinkRefused: a wrong token stops the server with the reason.
func TestMonitorLinkRefused(t *testing.T) {
	top, _ := chatTopology(t)
	_, addr := hubFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Run(ctx, Config{Topology: top, ID: "chat-server-1", Master: addr, Token: "guess", Logger: quiet()})
	var refused *monitor.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "wrong token") {
		t.Errorf("got %v, want a refusal for the wrong token", err)
	}
	if ctx.Err() != nil {
		t.Error("Run waited for its context instead of stopping")
	}
}

func next(t *testing.T, events <-chan monitor.Event) monitor.Event {
	t.Helper()
	for {
		select {
		case ev := <-events:
			if ev.Kind == monitor.Heartbeat {
				continue
			}
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no monitor event within 5s")
		}
	}
}

// TestFrontendStats: a frontend's heartbeats count its requests, its
// handler errors and its clients.
func TestFrontendStats(t *testing.T) {
	port := freePort(t)
	offset := port - 3014
	top, _, err := topology.Load("../../examples/chat/topology.yaml", topology.Options{PortOffset: &offset})
	if err != nil {
		t.Fatal(err)
	}
	hub, addr := hubFor(t)
	_, events := hub.Subscribe(t.Context())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Topology: top, ID: "gate-server-1", Master: addr, Token: "s3cret", Logger: quiet()})
	}()
	defer func() { cancel(); <-done }()
	if ev := next(t, events); ev.Kind != monitor.Joined {
		t.Fatalf("want a join, got %+v", ev)
	}
	c, err := client.Dial(ctx, "127.0.0.1:"+strconv.Itoa(port), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, route := range []string{"gate.gateHandler.queryEntry", "gate.gateHandler.queryEntry", "gate.gateHandler.nosuch"} { // the last: an error
		if _, err := c.Request(ctx, route, []byte(`{"uid":"alice"}`)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			st := ev.Member.Stats
			// A heartbeat may fall between the requests: wait for one
			// that counts the failed one.
			if ev.Kind == monitor.Heartbeat && st.RequestsPerSecond > 0 && st.Errors > 0 {
				if st.Errors != 1 || st.Connections != 1 || st.RSS == 0 || st.Goroutines == 0 {
					t.Errorf("heartbeat stats: %+v", st)
				}
				return
			}
		case <-deadline:
			t.Fatal("no heartbeat with the requests within 5s")
		}
	}
}

// runServer runs a server of the cluster in this process until it has
// started; the returned function (also run when the test ends) stops it.
func runServer(t *testing.T, cfg Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan struct{})
	cfg.Logger, cfg.Ready = quiet(), func() { close(ready) }
	go func() { done <- Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("%s: %v", cfg.ID, err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}
