package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/gate"
	"github.com/pomeloctl/pomeloctl/engine/metrics"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/engine/protocol/protobuf"
	"github.com/pomeloctl/pomeloctl/scripting"
	"github.com/pomeloctl/pomeloctl/topology"
)

// GateType and ConnectorType are the server types the built-in gate serves and
// hands out, as in Pomelo's demos: a type named gate answers
// gate.gateHandler.queryEntry with a server of the type named connector.
const (
	GateType      = "gate"
	ConnectorType = "connector"
)

// frontend is a frontend server's connector as a component.
type frontend struct {
	srv     *connector.Server
	filters *filters
	gc      *GlobalChannels // nil without topology.globalChannel
	metrics *metrics.Server // nil without an httpPort
}

func (f *frontend) Name() string { return "frontend" }

// Provision binds the client port.
func (f *frontend) Provision(context.Context) error { return f.srv.Listen() }

// Start listens, with what the filters run beside the requests, for the
// component's life (ctx).
func (f *frontend) Start(ctx context.Context) error {
	if err := f.srv.Start(ctx); err != nil {
		return err
	}
	f.filters.start(ctx)
	return nil
}
func (f *frontend) Drain(ctx context.Context) error { return f.srv.Shutdown(ctx) }
func (f *frontend) Stop(context.Context) error      { return f.srv.Close() }

// newFrontend builds server s's connector from its type's options; it
// counts requests and errors into counters, and into sv's metrics.
func newFrontend(p *Plan, log *slog.Logger, counters *monitor.Counters, sv *Services) *frontend {
	t, s := p.Topology, p.Server
	st := t.Types.Get(s.Type)
	c := st.Connector
	cfg := connector.Config{
		ServerID:       s.ID,
		ServerType:     s.Type,
		Addr:           net.JoinHostPort(s.Host, strconv.Itoa(s.ClientPort)),
		WebSocket:      slices.Contains(c.Transports, "ws"),
		TCP:            slices.Contains(c.Transports, "tcp"),
		Heartbeat:      c.Heartbeat.D(),
		MaxConnections: c.MaxConnections,
		MaxPackageSize: int(c.MaxPackageSize),
		SingleSession:  c.SingleSession,
		FlushInterval:  c.FlushInterval.D(),
		Logger:         log,
		OnHandled: func(route string, took time.Duration, err error) {
			counters.AddRequests(1)
			if err != nil {
				counters.AddErrors(1)
			}
			sv.metrics.Handled(route, took, err)
		},
	}
	cfg.Dict, cfg.ServerProtos, cfg.ClientProtos = p.dict, p.serverProtos, p.clientProtos
	srv := connector.New(cfg)
	sessions, fl := srv.Sessions(), p.filters
	handle := func(route string, h connector.HandlerFunc) { srv.Handle(route, fl.sync(sv, sessions, route, h)) }
	srv.HandleOtherAsync(fl.async(sv, sessions, forward(sv)))
	// The topology's handlers of this type and session hooks, then the
	// game's.
	for route, sc := range sv.scripts.handlers {
		handle(route, sv.frontendHandler(sc, sessions))
	}
	sv.scripts.sessionHooks(sv, srv)
	if app := sv.app; app != nil {
		for route, h := range app.frontend {
			if typ, _, _ := strings.Cut(route, "."); typ == s.Type {
				handle(route, func(ctx context.Context, cs *connector.Session, r *connector.Request) (any, error) {
					return h(ctx, &FrontendSession{Session: cs, sv: sv, sessions: sessions}, r.Body)
				})
			}
		}
		for _, on := range []struct {
			fns []func(*Services, scripting.Session)
			add func(func(*connector.Session))
		}{{app.onBind, srv.OnBind}, {app.onClose, srv.OnClose}} {
			if len(on.fns) == 0 {
				continue
			}
			on.add(func(cs *connector.Session) {
				info := sessionInfo(cs)
				for _, fn := range on.fns {
					fn(sv, info)
				}
			})
		}
	}
	if s.Type == GateType {
		// The live connectors (the declared ones without a master).
		handle(gate.Route, gate.Handler(func() []gate.Entry { return sv.peers.entries(ConnectorType) }))
	}
	return &frontend{srv: srv, filters: fl, metrics: sv.metrics}
}

// HandlerRoutes are every handler route of the cluster, sorted, for the
// route dictionary as Pomelo builds it (every handler route of every server
// type): the built-in gate route when there is a gate, each type's handlers
// in the topology, and the handlers app registers, frontend and backend
// alike (app may be nil). Remotes are server-to-server: no client names them.
func HandlerRoutes(t *topology.Topology, app *App) []string {
	var routes []string
	for _, st := range t.Types {
		if st.Name == GateType && st.Frontend {
			routes = append(routes, gate.Route)
		}
		for h := range st.Handlers {
			routes = append(routes, st.Name+"."+h)
		}
	}
	if app != nil {
		for route := range app.handlers {
			routes = append(routes, route)
		}
		for route := range app.frontend {
			routes = append(routes, route)
		}
	}
	slices.Sort(routes)
	return slices.Compact(routes)
}

func readProtos(t *topology.Topology, name string) (*protobuf.Protos, error) {
	if name == "" {
		return nil, nil
	}
	data, err := os.ReadFile(t.Path(name))
	if err != nil {
		return nil, fmt.Errorf("read protos: %w", err)
	}
	p, err := protobuf.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("protos %s: %w", name, err)
	}
	return p, nil
}
