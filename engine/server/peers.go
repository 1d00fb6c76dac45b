package server

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/gate"
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

	mu     sync.Mutex
	gen    uint64                        // the agent's view byType was made from
	byType map[string][]scripting.Server // ofType's answers, shared until the view changes
}

// resolve is the RPC address of server id.
func (p *peers) resolve(id string) (string, bool) {
	if p.agent != nil {
		for _, m := range p.agent.Members() {
			if m.ID == id && m.Port != 0 {
				return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)), true
			}
		}
		return "", false
	}
	if s := p.t.Server(id); s != nil && s.Port != 0 {
		return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), true
	}
	return "", false
}

// ofType lists the servers of a type that take RPC, in id order, as a
// router sees them.
// The slice is shared until the membership changes: it must not be
// modified. Every forwarded request is routed by it.
func (p *peers) ofType(typ string) []scripting.Server {
	var out []scripting.Server
	if p.agent != nil {
		members, gen := p.agent.View()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.byType == nil || p.gen != gen {
			p.byType, p.gen = map[string][]scripting.Server{}, gen
		}
		if out, ok := p.byType[typ]; ok {
			return out
		}
		for _, m := range members { // sorted by id
			if m.Type == typ && m.Port != 0 {
				out = append(out, scripting.Server{ID: m.ID, Type: m.Type, Host: m.Host, Port: m.Port, ClientHost: m.ClientHost, ClientPort: m.ClientPort, Frontend: m.Frontend})
			}
		}
		p.byType[typ] = out
		return out
	}
	if st := p.t.Types.Get(typ); st != nil {
		for _, s := range st.Servers {
			if s.Port != 0 {
				out = append(out, scripting.Server{ID: s.ID, Type: s.Type, Host: s.Host, Port: s.Port, ClientHost: s.ClientHost, ClientPort: s.ClientPort, Frontend: s.Frontend, Settings: s.Settings})
			}
		}
	}
	return out
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
		if m.Type == typ && m.Frontend && m.ClientPort != 0 {
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
	sv := &Services{id: s.ID, peers: p, app: app, log: log, buffers: sync.Pool{New: func() any { return new([]byte) }}}
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
