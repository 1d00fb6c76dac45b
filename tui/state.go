package tui

import (
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// history is how many samples of each figure a server keeps for its
// sparklines (one a second: a minute), and events how many of its state
// changes.
const (
	history = 60
	events  = 20
)

// cluster is what the UI knows of the cluster, built from the event
// stream: a snapshot, then changes and stats.
type cluster struct {
	master  admin.MasterInfo
	servers map[string]*server
	order   []string // ids, as the master lists them
	ready   bool
	// note is the last line a tool posted (a rollout's progress), shown
	// in the status line for noteFor.
	note   string
	noteAt time.Time
}

// noteFor is how long a posted line stays in the status line.
const noteFor = 2 * time.Minute

// server is one server's latest status, its recent state changes and
// the history of its figures.
type server struct {
	admin.ServerStatus
	changes               []change
	cpu, rss, conns, reqs []float64
}

type change struct {
	at time.Time
	admin.ServerEvent
}

func newCluster() *cluster { return &cluster{servers: map[string]*server{}} }

// apply folds an event in. It reports whether the set of rows changed
// (a snapshot, a server added): the rows are built again then.
func (c *cluster) apply(e admin.Event) {
	switch e.Kind {
	case admin.KindSnapshot:
		c.servers = map[string]*server{}
		c.order = c.order[:0]
		c.setAll(e.Servers, false)
		if e.Master != nil {
			c.master = *e.Master
			c.ready = e.Master.Ready
		}
	case admin.KindStats:
		c.setAll(e.Servers, true)
		if e.Master != nil {
			c.master = *e.Master
		}
	case admin.KindReady:
		c.ready = true
	case admin.KindNote:
		c.note, c.noteAt = e.Note, e.At
	case admin.KindServer:
		se := e.Server
		s := c.servers[se.ID]
		if s == nil {
			s = &server{ServerStatus: admin.ServerStatus{ID: se.ID, Type: se.Type}}
			c.servers[se.ID] = s
			c.order = append(c.order, se.ID)
		}
		s.State, s.Reason, s.Restarts = se.To, se.Reason, se.Restarts
		if se.Pid != 0 || se.To != "running" {
			s.Pid = se.Pid
		}
		if se.To == "running" && se.From != "running" {
			s.Started = e.At
		}
		s.changes = append(s.changes, change{at: e.At, ServerEvent: *se})
		if len(s.changes) > events {
			s.changes = s.changes[len(s.changes)-events:]
		}
	}
}

// setAll takes every server's status; sample adds its figures to their
// history.
func (c *cluster) setAll(list []admin.ServerStatus, sample bool) {
	for _, st := range list {
		s := c.servers[st.ID]
		if s == nil {
			s = &server{}
			c.servers[st.ID] = s
			c.order = append(c.order, st.ID)
		}
		s.ServerStatus = st
		if sample {
			s.cpu = appendSample(s.cpu, st.CPU)
			s.rss = appendSample(s.rss, float64(st.RSS))
			s.conns = appendSample(s.conns, float64(st.Connections))
			s.reqs = appendSample(s.reqs, st.RequestsPerSecond)
		}
	}
}

func appendSample(h []float64, v float64) []float64 {
	h = append(h, v)
	if len(h) > history {
		h = h[len(h)-history:]
	}
	return h
}
