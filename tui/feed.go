package tui

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// Client is what the UI needs of the admin API; *admin.Client has it.
type Client interface {
	Events(ctx context.Context, since string, fn func(admin.Event) error) (string, error)
	FollowLogs(ctx context.Context, id string, offset int64, tail int, fn func(admin.LogChunk) error) error
	Kill(ctx context.Context, id string) error
	Stop(ctx context.Context, ids ...string) error
	Restart(ctx context.Context, id string) error
	Add(ctx context.Context, req admin.AddRequest) (admin.ServerStatus, error)
	Promote(ctx context.Context, id string) error
	Config(ctx context.Context, id string) (json.RawMessage, error)
	Whoami(ctx context.Context) (admin.Whoami, error)
}

// Messages from the feed: the goroutine that keeps the UI connected to
// the leading master and reads its event stream.
type (
	// connectedMsg: the feed reached a master (at addr) and reads its
	// events; level is the user's there.
	connectedMsg struct {
		client Client
		addr   string
		level  int
	}
	// disconnectedMsg: the stream broke (a master restarting, a
	// failover); the feed finds the leader again.
	disconnectedMsg struct{ err error }
	eventMsg        struct{ e admin.Event }
	// logMsg is a chunk of the log followed for view gen.
	logMsg struct {
		gen   int
		chunk admin.LogChunk
	}
	logEndMsg struct {
		gen int
		err error
	}
)

// retry is the wait before the feed tries to reach a master again.
const retry = 500 * time.Millisecond

// runFeed connects, reads events into out, and connects again when the
// stream breaks, until ctx ends. Resuming from the last event read means
// a master that restarted with the same epoch replays what was missed;
// another master (a failover) starts with a snapshot.
func runFeed(ctx context.Context, connect func(context.Context) (Client, string, error), out chan<- tea.Msg) {
	send := func(m tea.Msg) bool {
		select {
		case out <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	since := ""
	for ctx.Err() == nil {
		cl, addr, err := connect(ctx)
		if err == nil {
			level := admin.LevelRead
			if who, werr := cl.Whoami(ctx); werr == nil {
				level = who.Level
			}
			if !send(connectedMsg{client: cl, addr: addr, level: level}) {
				return
			}
			since, err = cl.Events(ctx, since, func(e admin.Event) error {
				if !send(eventMsg{e}) {
					return ctx.Err()
				}
				return nil
			})
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, admin.ErrUnauthorized) {
			send(disconnectedMsg{err})
			return // the same credentials will not do better
		}
		if !send(disconnectedMsg{err}) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// waitFeed delivers the feed's next message to Update.
func waitFeed(in <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg { return <-in }
}

// followLog reads server id's log into out, as view gen's, until ctx
// ends.
func followLog(ctx context.Context, cl Client, id string, gen int, out chan<- tea.Msg) {
	err := cl.FollowLogs(ctx, id, -1, 200, func(c admin.LogChunk) error {
		select {
		case out <- logMsg{gen: gen, chunk: c}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if ctx.Err() == nil {
		select {
		case out <- logEndMsg{gen: gen, err: err}:
		case <-ctx.Done():
		}
	}
}
