package pomelo

import (
	"github.com/pomeloctl/pomeloctl/topology"
	"gopkg.in/yaml.v3"
)

// topo is the imported configuration in the topology's terms, ready to be written.
// Absent values are zero and are left out of the file, for the topology's own
// defaults (which are Pomelo's) to apply.
type topo struct {
	name         string
	master       masterSpec
	users        []*yaml.Node // flow mappings: id, username, password, level
	tokens       []typeToken
	ha           *haSpec
	dictionary   []string
	serverProtos string
	clientProtos string
	types        []*serverType
}

type masterSpec struct {
	id, host string
	port     int
}

// typeToken is one adminServer.json entry: the token servers of a type present.
type typeToken struct {
	typ, token string
}

// haSpec is masterha.json: the standby masters.
type haSpec struct {
	standbys []standby
}

type standby struct {
	id, host string
	port     int
	idPos    topology.Pos
}

// serverType is one key of servers.json: its servers, and what the topology
// declares once for the type.
type serverType struct {
	name     string
	frontend bool
	maxConns int         // the connector's maxConnections, 0 for none
	restart  restartSpec // every server's policy, hoisted to the type
	entries  []*entry
}

// entry is one server object of servers.json: an instance, or with clusterCount a
// cluster group.
type entry struct {
	count                int // clusterCount; 0 for an instance
	id, host, clientHost string
	port, clientPort     portSpec
	cpu                  *yaml.Node
	restart              restartSpec
	token                string
	settings             *yaml.Node // a flow mapping, nil when empty
}

// portSpec is a port, or with Increment Pomelo's "N++".
type portSpec struct {
	port      int
	increment bool
}

func (p portSpec) node() *yaml.Node {
	if p.increment {
		return strNode(topology.PortRange{Base: p.port, Increment: true}.String())
	}
	return intNode(p.port)
}

// restartSpec is what auto-restart and restart-force ask for; zero is Pomelo's
// default, no restarts.
type restartSpec struct {
	onFailure, force bool
}

func (r restartSpec) node() *yaml.Node {
	if r.force {
		m := newMap(true)
		set(m, "policy", strNode("on-failure"))
		set(m, "force", boolNode(true))
		return m
	}
	return strNode("on-failure")
}
