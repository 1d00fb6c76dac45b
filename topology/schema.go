package topology

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The types in this file are the topology as written: each `yaml` key is a key of the
// file (docs/topology.md documents every one with its default). `json` tags shape the
// resolved topology that `pomeloctl validate --print` shows and that servers are
// handed; fields tagged json:"-" are input only (instance specs become Servers).

// Topology is a loaded, defaulted and expanded cluster declaration.
type Topology struct {
	Name          string         `yaml:"name" json:"name"`
	PortOffset    int            `yaml:"portOffset" json:"portOffset,omitempty"`
	Master        Master         `yaml:"master" json:"master"`
	HA            *HA            `yaml:"ha" json:"ha,omitempty"`
	GlobalChannel *GlobalChannel `yaml:"globalChannel" json:"globalChannel,omitempty"`
	Web           *Web           `yaml:"web" json:"web,omitempty"`
	// Groups put the servers of some hosts in a group (see groups.go).
	Groups     map[string]HostGroup `yaml:"groups" json:"groups,omitempty"`
	Log        Log                  `yaml:"log" json:"log"`
	HTTP       HTTP                 `yaml:"http" json:"http"`
	Dictionary []string             `yaml:"dictionary" json:"dictionary,omitempty"`
	Protos     Protos               `yaml:"protos" json:"protos,omitzero"`
	Filters    Filters              `yaml:"filters" json:"filters,omitzero"`
	Hooks      Hooks                `yaml:"hooks" json:"hooks,omitzero"`
	Smoke      *Smoke               `yaml:"smoke" json:"smoke,omitempty"`
	// Defaults is merged under every server type before decoding (see load.go);
	// it is named here so that a misspelt "defaults" gets a suggestion.
	Defaults struct{}    `yaml:"defaults" json:"-"`
	Types    ServerTypes `yaml:"servers" json:"servers"`

	// File is the absolute path of the topology file; relative paths in it (protos,
	// commands) are resolved against its folder.
	File string `yaml:"-" json:"file"`
	// Profiles are the overlays merged over the file, in order.
	Profiles []string `yaml:"-" json:"profiles,omitempty"`
	// Source is the document the topology was decoded from: the file with its
	// profiles merged in and defaults: applied. LoadBytes(File, Source) with
	// the same port offset gives the same topology, without the profile
	// files: what the master hands a server on another host.
	Source []byte `yaml:"-" json:"-"`

	At Positions `yaml:"-" json:"-"`
}

// Master is the master server: its address and the admin API's users and the
// per-type tokens that servers present when they register (Pomelo's adminUser.json
// and adminServer.json).
type Master struct {
	ID       string            `yaml:"id" json:"id"`
	Host     string            `yaml:"host" json:"host"`
	Port     int               `yaml:"port" json:"port"`
	HTTPPort int               `yaml:"httpPort" json:"httpPort,omitempty"` // 0: no HTTP endpoint
	Users    []AdminUser       `yaml:"users" json:"users"`
	Tokens   map[string]Secret `yaml:"tokens" json:"tokens,omitempty"`
	// SSHArgs go to ssh before the host for servers on other hosts (Pomelo's
	// ssh_config_params).
	SSHArgs []string `yaml:"sshArgs" json:"sshArgs,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// AdminUser may use the admin API. Level 1 may act; level 2 and above may only read.
type AdminUser struct {
	ID       string `yaml:"id" json:"id"`
	Username string `yaml:"username" json:"username"`
	Password Secret `yaml:"password" json:"password"`
	Level    int    `yaml:"level" json:"level"`

	At Positions `yaml:"-" json:"-"`
}

// HA makes masters hot standbys of each other through a ZooKeeper election.
type HA struct {
	Zookeeper      StringList `yaml:"zookeeper" json:"zookeeper"`
	Path           string     `yaml:"path" json:"path"`
	SessionTimeout Duration   `yaml:"sessionTimeout" json:"sessionTimeout"`
	// Auth is ZooKeeper digest auth, "user:password"; the nodes masters
	// make are then that user's alone.
	Auth     Secret    `yaml:"auth" json:"auth,omitzero"`
	Standbys []Standby `yaml:"standbys" json:"standbys,omitempty"`
	// Managed is `zookeeper: managed`: up runs a ZooKeeper on loopback in
	// the run directory, at ManagedZookeeperPort shifted by portOffset,
	// which Zookeeper then names.
	Managed bool `yaml:"-" json:"managed,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// Standby is a master that waits to take over.
type Standby struct {
	ID       string `yaml:"id" json:"id"`
	Host     string `yaml:"host" json:"host"`
	Port     int    `yaml:"port" json:"port"`
	HTTPPort int    `yaml:"httpPort" json:"httpPort,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// GlobalChannel keeps channels in Redis so that any server can push to them.
type GlobalChannel struct {
	Redis    string `yaml:"redis" json:"redis"`
	DB       int    `yaml:"db" json:"db"`
	Prefix   string `yaml:"prefix" json:"prefix"`
	Password Secret `yaml:"password" json:"password,omitzero"`
	// TLS connects to Redis over TLS; TLSCA, a PEM file (beside the
	// topology when relative), is the CA its certificate must chain to,
	// instead of the system's.
	TLS   bool   `yaml:"tls" json:"tls,omitempty"`
	TLSCA string `yaml:"tlsCA" json:"tlsCA,omitempty"`
	// Managed is `redis: managed`: up runs a Redis on loopback in the run
	// directory, at ManagedRedisPort shifted by portOffset, which Redis
	// then names.
	Managed bool `yaml:"-" json:"managed,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// Log says how servers log.
type Log struct {
	Level  string `yaml:"level" json:"level"`
	Format string `yaml:"format" json:"format"`

	At Positions `yaml:"-" json:"-"`
}

// HTTP is where the servers' and the masters' HTTP endpoints (/metrics)
// listen: each on its own machine, at this address and its own httpPort.
type HTTP struct {
	Host string `yaml:"host" json:"host"`

	At Positions `yaml:"-" json:"-"`
}

// HTTPAddr is the address an HTTP endpoint on port listens on (http.host,
// on the machine of the server or master whose port it is); "" for port
// 0, which has none.
func (t *Topology) HTTPAddr(port int) string {
	if port == 0 {
		return ""
	}
	return net.JoinHostPort(t.HTTP.Host, strconv.Itoa(port))
}

// Protos names Pomelo's serverProtos.json and clientProtos.json files.
type Protos struct {
	Server string `yaml:"server" json:"server,omitempty"`
	Client string `yaml:"client" json:"client,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// Filters are before and after chains around handlers, and what answers
// a request that failed.
type Filters struct {
	Before  []Filter `yaml:"before" json:"before,omitempty"`
	After   []Filter `yaml:"after" json:"after,omitempty"`
	OnError Expr     `yaml:"onError" json:"onError,omitzero"`

	At Positions `yaml:"-" json:"-"`
}

// Filter is a built-in filter by name (serial, time, timeout, toobusy, blacklist) or
// an expression that must hold for a request to go on. A bare string is a name.
type Filter struct {
	Name        string   `yaml:"name" json:"name,omitempty"`
	Expr        Expr     `yaml:"expr" json:"expr,omitzero"`
	Code        int      `yaml:"code" json:"code,omitempty"`
	Message     string   `yaml:"message" json:"message,omitempty"`
	Timeout     Duration `yaml:"timeout" json:"timeout,omitzero"`
	MaxLag      Duration `yaml:"maxLag" json:"maxLag,omitzero"`
	MaxInflight int      `yaml:"maxInflight" json:"maxInflight,omitempty"`
	UIDs        []string `yaml:"uids" json:"uids,omitempty"`

	At Positions `yaml:"-" json:"-"`
}

// Hooks are expressions run at points of a server's life, and of its
// clients' sessions and its peers'.
type Hooks struct {
	AfterStart      Expr `yaml:"afterStart" json:"afterStart,omitzero"`
	AfterStartAll   Expr `yaml:"afterStartAll" json:"afterStartAll,omitzero"`
	BeforeStop      Expr `yaml:"beforeStop" json:"beforeStop,omitzero"`
	OnSessionBind   Expr `yaml:"onSessionBind" json:"onSessionBind,omitzero"`
	OnSessionClose  Expr `yaml:"onSessionClose" json:"onSessionClose,omitzero"`
	OnServerAdded   Expr `yaml:"onServerAdded" json:"onServerAdded,omitzero"`
	OnServerRemoved Expr `yaml:"onServerRemoved" json:"onServerRemoved,omitzero"`

	At Positions `yaml:"-" json:"-"`
}

// ServerType is one kind of server (Pomelo's serverType) and its instances.
type ServerType struct {
	Name      string          `yaml:"-" json:"-"`
	Frontend  bool            `yaml:"frontend" json:"frontend"`
	Connector *Connector      `yaml:"connector" json:"connector,omitempty"`
	Restart   *Restart        `yaml:"restart" json:"restart"`
	CPU       *CPUSet         `yaml:"cpu" json:"cpu,omitempty"`
	Group     string          `yaml:"group" json:"group,omitempty"`
	Command   string          `yaml:"command" json:"command,omitempty"`
	Args      []string        `yaml:"args" json:"args,omitempty"`
	Router    Expr            `yaml:"router" json:"router,omitzero"`
	Filters   Filters         `yaml:"filters" json:"filters,omitzero"`
	Hooks     Hooks           `yaml:"hooks" json:"hooks,omitzero"`
	Handlers  map[string]Expr `yaml:"handlers" json:"handlers,omitempty"`
	Remotes   map[string]Expr `yaml:"remotes" json:"remotes,omitempty"`
	Settings  map[string]any  `yaml:"settings" json:"settings,omitempty"`
	Instances []Instance      `yaml:"instances" json:"-"`
	Clusters  Clusters        `yaml:"cluster" json:"-"`

	// Servers are the instances and clusters expanded, in declaration order.
	Servers []*Server `yaml:"-" json:"instances"`

	At Positions `yaml:"-" json:"-"`
}

// ServerTypes keeps server types in the order the file declares them.
type ServerTypes []*ServerType

// Connector holds a frontend's client-facing options.
type Connector struct {
	Transports     []string `yaml:"transports" json:"transports"`
	Heartbeat      Duration `yaml:"heartbeat" json:"heartbeat,omitzero"`
	MaxConnections int      `yaml:"maxConnections" json:"maxConnections,omitempty"`
	MaxPackageSize Size     `yaml:"maxPackageSize" json:"maxPackageSize"`
	UseDict        bool     `yaml:"useDict" json:"useDict"`
	UseProtobuf    bool     `yaml:"useProtobuf" json:"useProtobuf"`
	SingleSession  bool     `yaml:"singleSession" json:"singleSession,omitempty"`
	FlushInterval  Duration `yaml:"flushInterval" json:"flushInterval,omitzero"`

	At Positions `yaml:"-" json:"-"`
}

// Restart is a supervision policy. A bare string is the policy alone.
type Restart struct {
	Policy      string   `yaml:"policy" json:"policy"`
	Force       bool     `yaml:"force" json:"force,omitempty"`
	StartSecs   Duration `yaml:"startsecs" json:"startsecs"`
	Backoff     Backoff  `yaml:"backoff" json:"backoff"`
	MaxRestarts int      `yaml:"maxRestarts" json:"maxRestarts"`
	Window      Duration `yaml:"window" json:"window"`
	// Wait is how long a request for the server waits while it is not
	// there (restarting) before it fails.
	Wait Duration `yaml:"wait" json:"wait"`

	At Positions `yaml:"-" json:"-"`
}

// Backoff is the capped exponential delay between restarts.
type Backoff struct {
	Initial Duration `yaml:"initial" json:"initial"`
	Max     Duration `yaml:"max" json:"max"`

	At Positions `yaml:"-" json:"-"`
}

// Instance is one server declared by hand.
type Instance struct {
	ID         string         `yaml:"id"`
	Host       string         `yaml:"host"`
	Port       int            `yaml:"port"`
	ClientHost string         `yaml:"clientHost"`
	ClientPort int            `yaml:"clientPort"`
	HTTPPort   int            `yaml:"httpPort"`
	CPU        *CPUSet        `yaml:"cpu"`
	Restart    *Restart       `yaml:"restart"`
	Group      string         `yaml:"group"`
	Token      Secret         `yaml:"token"`
	Settings   map[string]any `yaml:"settings"`

	At Positions `yaml:"-"`
}

// Cluster is Pomelo's clusterCount: Count servers with generated ids
// (cluster-server-<type>-<n>) whose "N++" ports count up from N.
type Cluster struct {
	Count      int            `yaml:"count"`
	Host       string         `yaml:"host"`
	ClientHost string         `yaml:"clientHost"`
	Port       PortRange      `yaml:"port"`
	ClientPort PortRange      `yaml:"clientPort"`
	HTTPPort   PortRange      `yaml:"httpPort"`
	CPU        *CPUSet        `yaml:"cpu"`
	Restart    *Restart       `yaml:"restart"`
	Group      string         `yaml:"group"`
	Settings   map[string]any `yaml:"settings"`

	At Positions `yaml:"-"`
}

// Clusters is one cluster group or a list of them.
type Clusters []Cluster

// Server is one expanded server process.
type Server struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Host       string `json:"host"`
	Port       int    `json:"port,omitempty"`
	ClientHost string `json:"clientHost,omitempty"`
	ClientPort int    `json:"clientPort,omitempty"`
	HTTPPort   int    `json:"httpPort,omitempty"` // on http.host; 0: no HTTP endpoint
	Frontend   bool   `json:"frontend"`
	// Group is the group a rollout takes it out of service with (its
	// instance's, cluster group's, type's or host's); "" for none.
	Group    string         `json:"group,omitempty"`
	Local    bool           `json:"local"`
	CPU      *CPUSet        `json:"cpu,omitempty"`
	Restart  *Restart       `json:"restart"`
	Token    Secret         `json:"token,omitzero"`
	Settings map[string]any `json:"settings,omitempty"`

	// Pos is where the server is declared: its instance, or its cluster group.
	Pos    Pos `json:"-"`
	at     Positions
	cpuPos Pos
	group  int // 1 + the index of its cluster group, 0 for an instance
}

// Positions records where a mapping and each of its keys' values were written, and
// which values could not be decoded (so that checks do not pile follow-on errors on
// a value already reported).
type Positions struct {
	Self  Pos
	Field map[string]Pos // key, key[i] for list items, key.name for map keys
	bad   map[string]bool
}

// record notes where key's value is, and where each item of a list or each key of a
// mapping is, so that an error about one item points at that item.
func (p *Positions) record(key string, n *yaml.Node, src *sources) {
	p.Field[key] = src.pos(n)
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p.Field[fmt.Sprintf("%s[%d]", key, i)] = src.pos(resolve(item))
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p.Field[key+"."+n.Content[i].Value] = src.pos(n.Content[i])
		}
	}
}

func (p *Positions) markBad(key string) {
	if p.bad == nil {
		p.bad = map[string]bool{}
	}
	p.bad[key] = true
}

// Of is the position of the value of key ("port", "users[2]", "tokens.chat"), or
// of the nearest enclosing value written, or of the mapping itself.
func (p Positions) Of(key string) Pos {
	for {
		if pos, ok := p.Field[key]; ok {
			return pos
		}
		i := strings.LastIndexAny(key, ".[")
		if i <= 0 {
			return p.Self
		}
		key = key[:i]
	}
}

// Has reports whether key was written (and not as null).
func (p Positions) Has(key string) bool {
	_, ok := p.Field[key]
	return ok
}

// Bad reports whether key's value was written but could not be decoded.
func (p Positions) Bad(key string) bool { return p.bad[key] }

// Decoded reports whether the mapping itself was decoded; a list item written as
// something else is reported once and then left alone.
func (p Positions) Decoded() bool { return p.Field != nil }

// Server returns the server with id, or nil.
func (t *Topology) Server(id string) *Server {
	for _, st := range t.Types {
		for _, s := range st.Servers {
			if s.ID == id {
				return s
			}
		}
	}
	return nil
}

// AllServers returns every server of every type, in declaration order.
func (t *Topology) AllServers() []*Server {
	var all []*Server
	for _, st := range t.Types {
		all = append(all, st.Servers...)
	}
	return all
}

// MasterAddr is one master's id and admin address (host:port), and the
// address its HTTP endpoint listens on ("" without an httpPort).
type MasterAddr struct{ ID, Addr, HTTP string }

// Masters are the cluster's masters: the topology's master, then each of
// ha.standbys, with their admin addresses as written.
func (t *Topology) Masters() []MasterAddr {
	out := []MasterAddr{{t.Master.ID, net.JoinHostPort(t.Master.Host, strconv.Itoa(t.Master.Port)), t.HTTPAddr(t.Master.HTTPPort)}}
	if t.HA != nil {
		for _, sb := range t.HA.Standbys {
			out = append(out, MasterAddr{sb.ID, net.JoinHostPort(sb.Host, strconv.Itoa(sb.Port)), t.HTTPAddr(sb.HTTPPort)})
		}
	}
	return out
}
