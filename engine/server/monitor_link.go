package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/topology"
)

// monitorLink is the server's monitor agent as a component: it registers
// with the master, heartbeats, follows the membership and takes commands.
type monitorLink struct {
	agent *monitor.Agent
	log   *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	fatal  chan error // 1-buffered: the agent gave up (refused for good)
}

// newMonitorLink makes the link; log names the server, base does not (the
// agent adds the server's id itself).
func newMonitorLink(cfg Config, s *topology.Server, fe *frontend, counters *monitor.Counters, pe *peers, left func(id string), changed func(joined, gone []monitor.Member), log, base *slog.Logger) *monitorLink {
	stats := monitor.ProcessStats(counters)
	if fe != nil {
		process := stats
		stats = func() monitor.Stats {
			st := process()
			st.Connections = int64(fe.srv.Sessions().Len())
			return st
		}
	}
	l := &monitorLink{log: log, fatal: make(chan error, 1)}
	forget := membersLogger(log, s.ID, left, changed)
	var once sync.Once
	// With master HA, Master names every master, the leader first: a
	// round of attempts after a lost link tries each, and only the leader
	// takes the registration (a standby refuses it), so the agent finds
	// the new leader within a round, and epoch fencing keeps it off an old
	// one.
	var urls []string
	for _, addr := range strings.Split(cfg.Master, ",") {
		urls = append(urls, "ws://"+strings.TrimSpace(addr)+"/monitor")
	}
	var backoff monitor.Backoff
	if len(urls) > 1 {
		// A new leader on another host cannot wake the servers it takes
		// over as one on this host does (monitor.WakeSignal): they find it
		// by themselves, at most half a second after its election.
		backoff.Max = 500 * time.Millisecond
	}
	l.agent = monitor.NewAgent(monitor.AgentConfig{
		MasterURLs: func() []string { return urls },
		Backoff:    backoff,
		Register: monitor.RegisterInfo{
			ID:         s.ID,
			Type:       s.Type,
			Host:       s.Host,
			Port:       s.Port,
			ClientHost: s.ClientHost,
			ClientPort: s.ClientPort,
			Frontend:   s.Frontend,
			Token:      cfg.Token,
		},
		Stats: stats,
		OnMembers: func(all []monitor.Member) {
			forget(all)
			pe.viewChanged()
		},
		OnCommand: func(ctx context.Context, name string, raw json.RawMessage) error {
			if name == monitor.CommandKick {
				return kickAll(ctx, fe, raw, log)
			}
			if name != monitor.CommandAfterStartAll {
				return fmt.Errorf("no command %q", name)
			}
			// A master that restarts sends it again; the hooks run once.
			var errs []error
			once.Do(func() {
				for i, h := range cfg.Hooks.AfterStartAll {
					if err := h(ctx); err != nil {
						log.Warn("afterStartAll hook failed", "hook", i+1, "err", err)
						errs = append(errs, fmt.Errorf("afterStartAll hook %d: %w", i+1, err))
					}
				}
			})
			return errors.Join(errs...)
		},
		Logger: base,
	})
	return l
}

// kickAll carries out the master's kick command on a frontend.
func kickAll(ctx context.Context, fe *frontend, raw json.RawMessage, log *slog.Logger) error {
	if fe == nil {
		return errors.New("kick: a backend has no clients")
	}
	var a monitor.KickArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("kick: %w", err)
	}
	n := fe.srv.KickAll(ctx, a.Reason)
	log.Info("kicked every client, as the master asked", "clients", n, "reason", a.Reason)
	return nil
}

func (l *monitorLink) Name() string { return "monitor" }

func (l *monitorLink) Start(context.Context) error {
	// The link lives until Stop, not until Start's context ends.
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		if err := l.agent.Run(ctx); err != nil {
			l.fatal <- err
		}
	}()
	return nil
}

// Stop says bye to the master, so that it takes the server's exit for a
// stop rather than a crash. It comes after the drains, on every server:
// the cluster forgets a server that left, and while it drains a frontend
// still calls backends and follows the membership (a request waiting for a
// restarting backend must see it come back), and a backend still answers.
// The gate stops handing out a frontend the master is stopping sooner, by
// its supervision state.
func (l *monitorLink) Stop(ctx context.Context) error {
	l.cancel()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the monitor link did not close: %w", ctx.Err())
	}
}

// failed delivers the agent's fatal error; nil (no link) never delivers.
func (l *monitorLink) failed() <-chan error {
	if l == nil {
		return nil
	}
	return l.fatal
}

// membersLogger logs each change of the server's view of the cluster (who
// joined and who left), tells left of each server gone and changed of the
// servers other than self that joined or left. OnMembers calls it from
// one goroutine at a time.
func membersLogger(log *slog.Logger, self string, left func(id string), changed func(joined, gone []monitor.Member)) func([]monitor.Member) {
	known := map[string]monitor.Member{}
	return func(all []monitor.Member) {
		now := map[string]monitor.Member{}
		var joined, gone []monitor.Member
		for _, m := range all {
			now[m.ID] = m
			if _, ok := known[m.ID]; !ok {
				joined = append(joined, m)
			}
		}
		for id, m := range known {
			if _, ok := now[id]; !ok {
				gone = append(gone, m)
			}
		}
		known = now
		if len(joined)+len(gone) == 0 {
			return
		}
		slices.SortFunc(gone, func(a, b monitor.Member) int { return strings.Compare(a.ID, b.ID) })
		log.Info("monitor: the cluster changed", "servers", len(all), "joined", ids(joined), "left", ids(gone))
		for _, m := range gone {
			left(m.ID)
		}
		if changed != nil {
			notSelf := func(m monitor.Member) bool { return m.ID == self }
			changed(slices.DeleteFunc(joined, notSelf), gone)
		}
	}
}

func ids(members []monitor.Member) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.ID
	}
	return out
}
