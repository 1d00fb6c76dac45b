package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pomeloctl/pomeloctl/engine/monitor"
)

// The lifecycle hooks a game registers with the Go API run on the servers
// of the types they name, in their order, with the server's Services:
// afterStart as it starts, afterStartAll when the master says every server
// has started, beforeStop when it is asked to stop; and a failing
// afterStart stops the server.
func TestAppHooksRun(t *testing.T) {
	top, _ := chatTopology(t)
	hub, addr := hubFor(t)
	_, events := hub.Subscribe(t.Context())
	var mu sync.Mutex
	var ran []string
	note := func(what string) Hook {
		return func(_ context.Context, sv *Services) error {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, what+" on "+sv.ID())
			return nil
		}
	}
	app := NewApp()
	app.AfterStart("chat", note("afterStart"))
	app.AfterStart("connector", note("a connector's afterStart"))
	app.AfterStartAll("", note("afterStartAll"))
	app.BeforeStop("chat", note("beforeStop"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Topology: top, ID: "chat-server-1", Master: addr, Token: "s3cret", Logger: quiet(), App: app})
	}()
	if ev := next(t, events); ev.Kind != monitor.Joined {
		t.Fatalf("want chat-server-1 to join, got %+v", ev)
	}
	if err := hub.Command(t.Context(), "chat-server-1", monitor.CommandAfterStartAll, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stop: %v", err)
	}
	want := []string{"afterStart on chat-server-1", "afterStartAll on chat-server-1", "beforeStop on chat-server-1"}
	if !slices.Equal(ran, want) {
		t.Errorf("hooks ran: %q; want %q", ran, want)
	}

	failing := NewApp()
	failing.AfterStart("", func(context.Context, *Services) error { return errors.New("no database") })
	err := Run(context.Background(), Config{Topology: top, ID: "chat-server-2", Logger: quiet(), App: failing})
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("a failing afterStart: %v; want the server stopped with its error", err)
	}
}
