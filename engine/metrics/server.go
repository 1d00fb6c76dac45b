package metrics

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pomeloctl/pomeloctl/engine/rpc"
)

// UnknownRoute is the route label of a request for a route the server was
// not told of (ServerConfig.Routes).
const UnknownRoute = "unknown"

// Outcomes of a request, as its outcome label says.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// Limits on labels whose values the game's code names (push and remote
// routes) rather than the topology: past them, new values count as
// "other". A game names a few dozen; these only keep a bug (a route made
// of a player's input) from swelling every scrape.
const (
	maxPushRoutes = 256
	maxRPCPairs   = 4096
)

// latencyBuckets are the request duration histogram's bounds, in seconds:
// a game's request takes well under a millisecond on a quiet cluster, a
// second is very late, and a frontend gives up on a backend after 10s.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// ServerConfig is the server a Server counts for.
type ServerConfig struct {
	ID, Type string
	Frontend bool
	// Routes are the client routes it handles: on a frontend every handler
	// route of the cluster (it forwards other types' requests, and times
	// them until they are answered), on a backend its own type's. A
	// request for any other route counts under UnknownRoute: clients
	// choose what they ask for, and a label's values must stay bounded.
	Routes []string
}

// Server is one server process's metrics. A nil *Server counts nothing,
// so that a server without an HTTP endpoint pays nothing for them.
type Server struct {
	reg       *prometheus.Registry
	routes    map[string]*Route // read-only once made
	unknown   *Route
	pushes    *children[string, prometheus.Counter]
	rpc       *children[rpcKey, *rpcCalls]
	rpcErrors *prometheus.CounterVec
}

// Route is one route's request counters and latency histogram.
type Route struct {
	ok, failed prometheus.Counter
	latency    prometheus.Observer
}

type rpcKey struct{ route, target string }

// rpcCalls is the calls counter of a route and target, and the labels its
// errors are counted under ("other" for both past the limit).
type rpcCalls struct {
	calls prometheus.Counter
	rpcKey
}

// NewServer makes a server's metrics, in a registry of their own with the
// Go runtime's and the process's.
func NewServer(cfg ServerConfig) *Server {
	reg := newRegistry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "pomelo_server_info",
		Help:        "Always 1: the server this process runs, in its labels.",
		ConstLabels: prometheus.Labels{"server": cfg.ID, "type": cfg.Type, "frontend": strconv.FormatBool(cfg.Frontend)},
	}, func() float64 { return 1 }))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pomelo_requests_total",
		Help: "Client requests and notifies handled, by route and outcome (ok, error). A frontend counts every request its clients send, forwarded ones included; a backend, those forwarded to it.",
	}, []string{"route", "outcome"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pomelo_request_duration_seconds",
		Help:    "How long client requests took to handle, by route: on a frontend until the answer is queued (a backend's time included for forwarded ones); on a backend, the handler's run.",
		Buckets: latencyBuckets,
	}, []string{"route"})
	pushes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pomelo_pushes_total",
		Help: "Push messages a frontend queued for its clients, one per client, by route.",
	}, []string{"route"})
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pomelo_rpc_calls_total",
		Help: "RPC calls and notifies this server made to others, by route and target server; each attempt counts.",
	}, []string{"route", "target"})
	rpcErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pomelo_rpc_errors_total",
		Help: "RPC calls and notifies that failed, by route, target server and reason (remote, gone, stopping, timeout, other).",
	}, []string{"route", "target", "reason"})
	reg.MustRegister(requests, latency, pushes, calls, rpcErrors)

	route := func(name string) *Route {
		return &Route{ok: requests.WithLabelValues(name, OutcomeOK), failed: requests.WithLabelValues(name, OutcomeError), latency: latency.WithLabelValues(name)}
	}
	s := &Server{reg: reg, routes: map[string]*Route{}, unknown: route(UnknownRoute), rpcErrors: rpcErrors}
	for _, r := range cfg.Routes {
		s.routes[r] = route(r)
	}
	s.pushes = newChildren(maxPushRoutes, overflow, func(r string) prometheus.Counter { return pushes.WithLabelValues(r) })
	s.rpc = newChildren(maxRPCPairs, rpcKey{overflow, overflow}, func(k rpcKey) *rpcCalls {
		return &rpcCalls{calls: calls.WithLabelValues(k.route, k.target), rpcKey: k}
	})
	return s
}

// Gatherer is what the server's /metrics serves.
func (s *Server) Gatherer() prometheus.Gatherer { return s.reg }

// Route is route's counters, made once: a handler registered for one
// route keeps it rather than looking it up for every request.
func (s *Server) Route(route string) *Route {
	if s == nil {
		return nil
	}
	if r, ok := s.routes[route]; ok {
		return r
	}
	return s.unknown
}

// RouteBytes is Route for a route that is still bytes (a forwarded
// request's), without making a string of it.
func (s *Server) RouteBytes(route []byte) *Route {
	if s == nil {
		return nil
	}
	if r, ok := s.routes[string(route)]; ok {
		return r
	}
	return s.unknown
}

// Handled counts a request for route that took took and failed with err
// (nil: it succeeded).
func (s *Server) Handled(route string, took time.Duration, err error) {
	s.Route(route).Observe(took, err)
}

// Observe counts one request of the route.
func (r *Route) Observe(took time.Duration, err error) {
	if r == nil {
		return
	}
	if err != nil {
		r.failed.Inc()
	} else {
		r.ok.Inc()
	}
	r.latency.Observe(took.Seconds())
}

// Pushed counts n push messages on route queued for clients.
func (s *Server) Pushed(route string, n int) {
	if s == nil || n <= 0 {
		return
	}
	s.pushes.get(route).Add(float64(n))
}

// Called counts an RPC call or notify to server target on route, which
// failed with err (nil: it succeeded).
func (s *Server) Called(route, target string, err error) {
	if s == nil {
		return
	}
	c := s.rpc.get(rpcKey{route, target})
	c.calls.Inc()
	if err != nil {
		// A failure is rare: it looks its child up by its labels.
		s.rpcErrors.WithLabelValues(c.route, c.target, rpcReason(err)).Inc()
	}
}

// rpcReason sorts an RPC failure: the target's handler failed (remote),
// the target was not there or its connection broke (gone), it refused the
// call because it is stopping, the call's deadline passed (timeout).
func rpcReason(err error) string {
	var re *rpc.RemoteError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &re) && re.Msg == context.DeadlineExceeded.Error():
		return "timeout"
	case errors.Is(err, rpc.ErrStopping):
		return "stopping"
	case errors.Is(err, rpc.ErrPeerGone) || errors.Is(err, rpc.ErrClosed):
		return "gone"
	case re != nil:
		return "remote"
	}
	return "other"
}

// CountConnections has /metrics tell n's answer as the frontend's
// connected clients.
func (s *Server) CountConnections(n func() int) {
	if s == nil {
		return
	}
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pomelo_connections",
		Help: "Clients connected to this frontend.",
	}, func() float64 { return float64(n()) }))
}

// CountChannels has /metrics tell the members of each channel, as local
// and global give them when it is scraped: the server's local channels,
// and the members of global channels it holds (a frontend's connected
// clients). Either may be nil.
func (s *Server) CountChannels(local, global func() map[string]int) {
	if s == nil {
		return
	}
	s.reg.MustRegister(&channelSizes{local: local, global: global})
}

var (
	localMembersDesc = prometheus.NewDesc("pomelo_channel_members",
		"Members of each of this server's local channels.", []string{"channel"}, nil)
	globalMembersDesc = prometheus.NewDesc("pomelo_global_channel_members",
		"Members of each global channel connected to this frontend.", []string{"channel"}, nil)
)

// channelSizes reads the channels when scraped: counting them as they
// change would put a gauge's update on every join and leave.
type channelSizes struct {
	local, global func() map[string]int
}

func (c *channelSizes) Describe(ch chan<- *prometheus.Desc) {
	ch <- localMembersDesc
	ch <- globalMembersDesc
}

func (c *channelSizes) Collect(ch chan<- prometheus.Metric) {
	for _, src := range []struct {
		sizes func() map[string]int
		desc  *prometheus.Desc
	}{{c.local, localMembersDesc}, {c.global, globalMembersDesc}} {
		if src.sizes == nil {
			continue
		}
		for name, n := range src.sizes() {
			ch <- prometheus.MustNewConstMetric(src.desc, prometheus.GaugeValue, float64(n), name)
		}
	}
}

// newRegistry is a process's registry, with the Go runtime's metrics
// (go_*) and the process's (process_*: CPU, memory, file descriptors).
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
