package server

import (
	"cmp"
	"context"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/gate"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/engine/rpc"
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// peers is what a server knows of the others: the membership its monitor
// link follows, or, for a server run alone, the topology's servers.
type peers struct {
	t     *topology.Topology
	agent *monitor.Agent // nil without a master; set before the components start

	mu      sync.Mutex
	gen     uint64                        // the agent's view byType was made from
	byType  map[string][]scripting.Server // ofType's answers, shared until the view changes
	changed chan struct{}                 // closed at the next change of the view
}

// resolve is the RPC address of server id.
func (p *peers) resolve(id string) (string, bool) {
	if p.agent != nil {
		if m, ok := p.live(id); ok && m.Port != 0 {
			return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)), true
		}
		return "", false
	}
	if s := p.t.Server(id); s != nil && s.Port != 0 {
		return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), true
	}
	return "", false
}

// live is server id's entry in the membership, when it is there.
func (p *peers) live(id string) (monitor.Member, bool) {
	members, _ := p.agent.View()
	i, ok := slices.BinarySearchFunc(members, id, func(m monitor.Member, id string) int { return cmp.Compare(m.ID, id) })
	if !ok {
		return monitor.Member{}, false
	}
	return members[i], true
}

// current is server id's entry in the membership, and whether it runs;
// a server run alone takes every server the topology declares for running.
func (p *peers) current(id string) (monitor.Member, bool) {
	if p.agent == nil {
		return monitor.Member{}, true
	}
	return p.live(id)
}

// Server states, as routers see them.
const (
	// StateRunning: registered with the master, it takes requests.
	StateRunning = "running"
	// StateRestarting: not registered, and the master is bringing it back
	// (starting, back-off after a crash, stopping for a restart) or has not
	// said: a request for it waits for it, within its restart.wait.
	StateRestarting = "restarting"
	// StateStopped: not registered, and it will not come back by itself:
	// an operator stopped it, or it exited or failed and its restart policy
	// gave up. A request for it fails at once.
	StateStopped = "stopped"
)

// downState is the router's state of a declared server that is not
// registered, from the supervision state the master last gave it.
func (p *peers) downState(id string) string {
	switch p.agent.State(id) {
	case lifecycle.Stopped.String(), lifecycle.Exited.String(), lifecycle.Failed.String():
		return StateStopped
	}
	return StateRestarting
}

// ofType lists the servers of a type that take RPC, in id order, as a
// router sees them: every server the topology declares, whether it runs
// or not, and those added at runtime that run. Routing over the declared
// servers rather than the running ones keeps a room on its server across
// the server's restart: a request for a server that is down waits for it
// (see awaitBack).
// The slice is shared until the membership changes: it must not be
// modified. Every forwarded request is routed by it.
func (p *peers) ofType(typ string) []scripting.Server {
	st := p.t.Types.Get(typ)
	if p.agent == nil {
		var out []scripting.Server
		if st != nil {
			for _, s := range st.Servers {
				if s.Port != 0 {
					out = append(out, declared(s, StateRunning))
				}
			}
		}
		return out
	}
	members, gen := p.agent.View()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byType == nil || p.gen != gen {
		p.byType, p.gen = map[string][]scripting.Server{}, gen
	}
	if out, ok := p.byType[typ]; ok {
		return out
	}
	var out []scripting.Server
	decl := map[string]*topology.Server{} // the type's declared servers that take RPC
	if st != nil {
		for _, s := range st.Servers {
			if s.Port != 0 {
				decl[s.ID] = s
			}
		}
	}
	for _, m := range members { // sorted by id
		if m.Type == typ && m.Port != 0 {
			srv := scripting.Server{ID: m.ID, Type: m.Type, Host: m.Host, Port: m.Port, ClientHost: m.ClientHost, ClientPort: m.ClientPort, Frontend: m.Frontend, State: StateRunning}
			if s := decl[m.ID]; s != nil {
				srv.Settings = s.Settings
				delete(decl, m.ID)
			}
			out = append(out, srv)
		}
	}
	for _, s := range decl { // declared, not running
		out = append(out, declared(s, p.downState(s.ID)))
	}
	slices.SortFunc(out, func(a, b scripting.Server) int { return cmp.Compare(a.ID, b.ID) })
	p.byType[typ] = out
	return out
}

// asServers are members as expressions see servers, in state, with the
// settings the topology declares for them.
func (p *peers) asServers(members []monitor.Member, state string) []scripting.Server {
	out := make([]scripting.Server, len(members))
	for i, m := range members {
		out[i] = scripting.Server{ID: m.ID, Type: m.Type, Host: m.Host, Port: m.Port, ClientHost: m.ClientHost, ClientPort: m.ClientPort, Frontend: m.Frontend, State: state}
		if s := p.t.Server(m.ID); s != nil {
			out[i].Settings = s.Settings
		}
	}
	return out
}

func declared(s *topology.Server, state string) scripting.Server {
	return scripting.Server{ID: s.ID, Type: s.Type, Host: s.Host, Port: s.Port, ClientHost: s.ClientHost, ClientPort: s.ClientPort, Frontend: s.Frontend, Settings: s.Settings, State: state}
}

// viewChanged wakes whoever waits for a server to come back; the monitor
// link calls it after each change of the membership.
func (p *peers) viewChanged() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

// changes is closed at the next change of the membership. Take it before
// looking at the membership, so that no change falls in between.
func (p *peers) changes() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.changed
}

// restartWait is how long a request for server id waits for it while it
// is down: its restart policy's wait (the type's, for a server added at
// runtime; the built-in one for a type the topology does not know).
func (p *peers) restartWait(id, typ string) time.Duration {
	if s := p.t.Server(id); s != nil && s.Restart != nil {
		return s.Restart.Wait.D()
	}
	if st := p.t.Types.Get(typ); st != nil && st.Restart != nil {
		return st.Restart.Wait.D()
	}
	return topology.DefaultRestart().Wait.D()
}

// awaitBack waits until server id runs again after gone, its process that
// failed (any process, when gone is the zero Member): as another process,
// or after it was seen to leave. It waits until deadline or ctx ends, or
// the master says the server will not come back by itself, and reports
// whether it runs, or else the state it was left in. A server run alone
// has no membership to wait on: what it was told of the others is all it
// will know.
func (p *peers) awaitBack(ctx context.Context, id string, gone monitor.Member, deadline time.Time) (bool, string) {
	if p.agent == nil {
		return gone.ID == "", StateStopped
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	left := gone.ID == ""
	for {
		changed := p.changes()
		m, ok := p.live(id)
		switch {
		case !ok:
			left = true
			if state := p.downState(id); state == StateStopped {
				return false, state
			}
		case left || m.Pid != gone.Pid || m.StartTime != gone.StartTime:
			// Back after it was seen gone, or as another process: a
			// restart can come and go between two looks.
			return true, StateRunning
		}
		select {
		case <-changed:
		case <-timer.C:
			return false, StateRestarting
		case <-ctx.Done():
			return false, StateRestarting
		}
	}
}

// entries lists the running frontends of a type as the gate hands them
// out, in id order.
func (p *peers) entries(typ string) []gate.Entry {
	if p.agent == nil {
		if st := p.t.Types.Get(typ); st != nil {
			return gate.EntriesOf(st.Servers)
		}
		return nil
	}
	var out []gate.Entry
	for _, m := range p.agent.Members() {
		// One the master is stopping or draining still serves its own
		// clients: new ones go elsewhere.
		if st := p.agent.State(m.ID); m.Type == typ && m.Frontend && m.ClientPort != 0 && st != lifecycle.Stopping.String() && st != monitor.StateDraining {
			host := m.ClientHost
			if host == "" {
				host = m.Host
			}
			out = append(out, gate.Entry{ID: m.ID, Host: host, Port: m.ClientPort})
		}
	}
	return out
}

// rpcLink is the server's RPC node as a component: it starts first, so
// that forwarding works once clients and peers arrive, drains last (a
// frontend's drain needs its calls to backends), and stops last.
type rpcLink struct{ node *rpc.Node }

func (l *rpcLink) Name() string                    { return "rpc" }
func (l *rpcLink) Provision(context.Context) error { return l.node.Listen() }
func (l *rpcLink) Start(context.Context) error     { return l.node.Start() }
func (l *rpcLink) Drain(ctx context.Context) error { return l.node.Drain(ctx) }
func (l *rpcLink) Stop(context.Context) error      { return l.node.Close() }

// newRPC makes server s's RPC node and its Services: the node listens on
// the server's port, if it has one, serves forwarded requests with app's
// handlers and, on a frontend (*fe, set before the node starts), the
// system routes of backend sessions and pushes.
func newRPC(s *topology.Server, app *App, p *peers, fe **frontend, callTimeout time.Duration, log *slog.Logger) *Services {
	addr := ""
	if s.Port != 0 {
		addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	}
	sv := &Services{id: s.ID, peers: p, app: app, log: log}
	sv.chans = &Channels{sv: sv, m: map[string]*Channel{}}
	sv.node = rpc.New(rpc.Config{
		ID:      s.ID,
		Addr:    addr,
		Resolve: p.resolve,
		Handler: func(ctx context.Context, r *rpc.Request) ([]byte, error) {
			switch {
			case r.Route == routeForward:
				return serveForward(ctx, app, sv, r)
			case strings.HasPrefix(r.Route, "sys."):
				return serveSys(*fe, r)
			}
			return serveRemote(ctx, app, sv, r)
		},
		CallTimeout: callTimeout,
		Logger:      log,
	})
	return sv
}
