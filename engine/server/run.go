package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/metrics"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/topology"
)

// DrainTimeout bounds a graceful stop.
const DrainTimeout = 10 * time.Second

// Config is one server process of a cluster.
type Config struct {
	Topology *topology.Topology
	// ID is the server this process runs; it must be in Topology (a server
	// added at runtime is added to it first, see topology.AddServer).
	ID string
	// Master is the master's admin address (host:port) that the monitor
	// agent dials, and Token the server type's token. An empty Master runs
	// the server alone, without a monitor link (`pomeloctl serve` by hand).
	Master string
	Token  string
	// App is the game's handlers (Go API); nil for none.
	App *App
	// CallTimeout bounds a call to another server, a forwarded request
	// included, whose context has no deadline (default 10s).
	CallTimeout time.Duration
	// Hooks are lifecycle hooks beside those App registers for the
	// server's type (which run after these).
	Hooks  Hooks
	Logger *slog.Logger
	// Ready, when not nil, is called once every component has started.
	Ready func()
}

// Run runs the server until ctx ends, then stops it gracefully: beforeStop
// hooks; the frontend stops accepting, answers what it is handling and
// kicks its clients; the RPC node answers the calls it is handling and
// refuses new ones; then the monitor link says bye and the components stop
// in reverse order. It returns early, with
// an error, if the master refuses the server (a wrong token).
func Run(ctx context.Context, cfg Config) error {
	plan, err := NewPlan(cfg.Topology, cfg.ID, cfg.App)
	if err != nil {
		return fmt.Errorf("server %s: %w", cfg.ID, err)
	}
	t, s := plan.Topology, plan.Server
	base := cfg.Logger
	if base == nil {
		base = slog.Default()
	}
	log := base.With("server", s.ID, "type", s.Type)
	pe := &peers{t: t}
	var fe *frontend
	sv := newRPC(s, cfg.App, pe, &fe, cfg.CallTimeout, log)
	sv.routers, sv.scripts, sv.self = plan.routers, plan.scripts, declared(s, StateRunning)
	cfg.Hooks = sv.scripts.lifeHooks(sv, cfg.App.hooksFor(s.Type, sv, cfg.Hooks))
	node := sv.node
	var comps []Component
	ready := &readiness{id: s.ID}
	if addr := t.HTTPAddr(s.HTTPPort); addr != "" {
		// First, so that it is the last to stop: /metrics answers while
		// the server starts and while it drains.
		sv.metrics = metrics.NewServer(metrics.ServerConfig{ID: s.ID, Type: s.Type, Frontend: s.Frontend, Routes: clientRoutes(plan)})
		ep := metrics.NewEndpoint(addr, sv.metrics.Gatherer(), log)
		ep.Handle("/ready", ready)
		comps = append(comps, ep)
	}
	if t.GlobalChannel != nil {
		// Before the RPC node and the frontend: Redis is reached before
		// the server takes anything.
		sv.gchans = &GlobalChannels{sv: sv, cfg: t.GlobalChannel, log: log, held: map[string]map[string]bool{}}
		comps = append(comps, &gcLink{g: sv.gchans, frontend: s.Frontend})
	}
	comps = append(comps, &rpcLink{node: node})
	sv.metrics.CountChannels(sv.chans.sizes, sv.gchans.heldSizes)
	counters := &monitor.Counters{}
	if s.Frontend {
		fe = newFrontend(plan, log, counters, sv)
		sv.metrics.CountConnections(fe.srv.Sessions().Len)
		if g := sv.gchans; g != nil {
			fe.gc = g
			sessions := fe.srv.Sessions()
			fe.srv.OnClose(func(cs *connector.Session) {
				uid := cs.UID()
				g.sessionClosed(uid, len(sessions.ByUID(uid)))
			})
		}
		comps = append(comps, fe)
	}
	var mon *monitorLink
	if cfg.Master != "" {
		changed := func(joined, gone []monitor.Member) {
			sv.peersChanged(pe.asServers(joined, StateRunning), pe.asServers(gone, StateStopped))
		}
		mon = newMonitorLink(cfg, s, fe, counters, pe, node.Forget, changed, log, base)
		pe.agent = mon.agent
		ready.agent = mon.agent
		comps = append(comps, mon)
	}
	cs := NewComponents(log, cfg.Hooks, comps...)
	// The components live until they are stopped, not until ctx ends: a
	// signal ends ctx, and a graceful stop needs the listeners, the RPC
	// links and the clients' connections for its drain.
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	if err := cs.Start(life); err != nil {
		return fmt.Errorf("server %s: %w", s.ID, err)
	}
	log.Info("server started")
	ready.started.Store(true)
	if cfg.Ready != nil {
		cfg.Ready()
	}
	var fatal error
	select {
	case <-ctx.Done():
	case fatal = <-mon.failed():
		log.Error("stopping: the monitor link failed for good", "err", fatal)
	}
	ready.stopping.Store(true)
	stopCtx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	err = cs.Stop(stopCtx)
	if err := errors.Join(fatal, err); err != nil {
		return fmt.Errorf("server %s: %w", s.ID, err)
	}
	log.Info("server stopped")
	return nil
}
