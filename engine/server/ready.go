package server

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
)

// readiness is the server's answer to a load balancer's health check,
// /ready on its HTTP endpoint: 200 while it takes new players, 503 while
// it starts, while the master drains it (a rollout), and from the moment
// it is asked to stop, so that a balancer sends new connections elsewhere
// before the server kicks its players.
type readiness struct {
	id                string
	started, stopping atomic.Bool
	agent             *monitor.Agent // nil without a master
}

// why is what keeps the server from taking new players; "" when nothing.
func (r *readiness) why() string {
	switch {
	case r.stopping.Load():
		return "stopping"
	case !r.started.Load():
		return "starting"
	case r.agent == nil:
		return ""
	}
	switch st := r.agent.State(r.id); st {
	case monitor.StateDraining:
		return "draining"
	case lifecycle.Stopping.String():
		// The master is stopping it (a restart): the signal is on its way.
		return "stopping"
	}
	return ""
}

// ServeHTTP answers any method: balancers check with GET, HEAD or OPTIONS.
func (r *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if why := r.why(); why != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, why)
		return
	}
	fmt.Fprintln(w, "ready")
}
