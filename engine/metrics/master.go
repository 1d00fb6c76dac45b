package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
)

// AdminActions are the admin API's actions that Master.Acted counts: each
// has its series from the start, at 0.
var AdminActions = []string{"kill", "stop", "restart", "add", "down", "promote"}

// Master is one master process's metrics: one registry for its life, its
// terms as leader and its time as a standby alike. A nil *Master counts
// nothing.
type Master struct {
	reg       *prometheus.Registry
	servers   [lifecycle.Failed + 1]prometheus.Gauge
	restarts  *prometheus.CounterVec
	failovers prometheus.Counter
	leader    prometheus.Gauge
	epoch     prometheus.Gauge
	actions   *prometheus.CounterVec
}

// NewMaster makes master id's metrics, in a registry of their own with the
// Go runtime's and the process's.
func NewMaster(id string) *Master {
	reg := newRegistry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "pomelo_master_info",
		Help:        "Always 1: the master this process runs, in its labels.",
		ConstLabels: prometheus.Labels{"master": id},
	}, func() float64 { return 1 }))
	servers := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pomelo_master_servers",
		Help: "The cluster's servers by supervision state, as the leading master sees them; all 0 on a standby.",
	}, []string{"state"})
	m := &Master{
		reg: reg,
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pomelo_master_restarts_total",
			Help: "Servers restarted by their restart policy (not by an operator), by server and type.",
		}, []string{"server", "type"}),
		failovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pomelo_master_failovers_total",
			Help: "Times this master began to lead a cluster another master ran: elected after another leader (master HA), or adopting the servers of one that died.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pomelo_master_leader",
			Help: "1 while this master leads the cluster, 0 while it stands by.",
		}),
		epoch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pomelo_master_epoch",
			Help: "The epoch of this master's current or last term as leader.",
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pomelo_master_admin_actions_total",
			Help: "Operators' actions through the admin API (kill, stop, restart, add, down, promote), by action and outcome (ok, error).",
		}, []string{"action", "outcome"}),
	}
	for st := lifecycle.Stopped; st <= lifecycle.Failed; st++ {
		m.servers[st] = servers.WithLabelValues(st.String())
	}
	for _, a := range AdminActions {
		m.actions.WithLabelValues(a, OutcomeOK)
		m.actions.WithLabelValues(a, OutcomeError)
	}
	reg.MustRegister(servers, m.restarts, m.failovers, m.leader, m.epoch, m.actions)
	return m
}

// Gatherer is what the master's /metrics serves.
func (m *Master) Gatherer() prometheus.Gatherer { return m.reg }

// SetServers sets the servers in each state: count gives them, for every
// state.
func (m *Master) SetServers(count func(lifecycle.State) int) {
	if m == nil {
		return
	}
	for st, g := range m.servers {
		g.Set(float64(count(lifecycle.State(st))))
	}
}

// Restarted counts a restart of server id, of type typ, by its policy.
func (m *Master) Restarted(id, typ string) {
	if m == nil {
		return
	}
	m.restarts.WithLabelValues(id, typ).Inc()
}

// FailedOver counts a term that began by taking over a running cluster.
func (m *Master) FailedOver() {
	if m == nil {
		return
	}
	m.failovers.Inc()
}

// Leading says that this master leads, with epoch, or, with leading false,
// that its term ended: it knows no server's state then.
func (m *Master) Leading(leading bool, epoch uint64) {
	if m == nil {
		return
	}
	if leading {
		m.leader.Set(1)
		m.epoch.Set(float64(epoch))
		return
	}
	m.leader.Set(0)
	m.SetServers(func(lifecycle.State) int { return 0 })
}

// Acted counts an operator's action, which failed with err (nil: it
// succeeded).
func (m *Master) Acted(action string, err error) {
	if m == nil {
		return
	}
	outcome := OutcomeOK
	if err != nil {
		outcome = OutcomeError
	}
	m.actions.WithLabelValues(action, outcome).Inc()
}
