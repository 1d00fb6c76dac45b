package topology

import (
	"net"
	"strconv"
)

// Listener is an address a cluster of the topology listens on, and whose
// it is.
type Listener struct {
	Host  string
	Port  int
	Owner string // a server's or master's id, "the web page", "the managed Redis", ...
}

// Listeners are every address a cluster of t listens on: each master's
// admin and HTTP ports, each server's RPC, client and HTTP ports, the web
// page's, and a managed ZooKeeper's and Redis's. What must not be taken
// for a new server, nor be in use by anything else when the cluster comes
// up.
func (t *Topology) Listeners() []Listener {
	var out []Listener
	add := func(host string, port int, owner string) {
		if port != 0 {
			out = append(out, Listener{host, port, owner})
		}
	}
	add(t.Master.Host, t.Master.Port, "the master")
	// HTTP endpoints listen on http.host of their own machine, and are
	// claimed on its host, as validate claims them.
	add(t.Master.Host, t.Master.HTTPPort, "the master's HTTP endpoint")
	if t.HA != nil {
		for _, s := range t.HA.Standbys {
			add(s.Host, s.Port, "standby "+s.ID)
			add(s.Host, s.HTTPPort, "standby "+s.ID+"'s HTTP endpoint")
		}
		if t.HA.Managed {
			addAddr(add, t.HA.Zookeeper[0], "the managed ZooKeeper")
		}
	}
	if gc := t.GlobalChannel; gc != nil && gc.Managed {
		addAddr(add, gc.Redis, "the managed Redis")
	}
	if w := t.Web; w != nil {
		add(w.Host, w.Port, "the web page")
	}
	for _, st := range t.Types {
		for _, s := range st.Servers {
			add(s.Host, s.Port, s.ID)
			add(s.Host, s.ClientPort, s.ID)
			add(s.Host, s.HTTPPort, s.ID)
		}
	}
	return out
}

// addAddr adds a host:port the loader resolved.
func addAddr(add func(string, int, string), addr, owner string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	n, _ := strconv.Atoi(port)
	add(host, n, owner)
}
