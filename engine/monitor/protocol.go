package monitor

import (
	"encoding/json"
	"log/slog"
	"time"
)

// ProtocolVersion is the version of the monitor link's protocol that this
// package speaks, sent in every register. A master refuses an agent that
// speaks another version (and the agent keeps trying, since another master
// may speak it), so that a rolling upgrade fails loudly rather than
// half-understood.
const ProtocolVersion = 1

// RegisterInfo is what a server tells the master about itself when it
// registers.
type RegisterInfo struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Pid and StartTime name the process for good (StartTime is the 22nd
	// field of /proc/PID/stat, in clock ticks since boot), so that a
	// restarted master can adopt it and tell a reconnect of the same process
	// from another process claiming its id. Zero means this process.
	Pid        int    `json:"pid"`
	StartTime  uint64 `json:"startTime"`
	Host       string `json:"host"`
	Port       int    `json:"port,omitempty"` // the RPC port; 0 when it has none
	ClientHost string `json:"clientHost,omitempty"`
	ClientPort int    `json:"clientPort,omitempty"`
	Frontend   bool   `json:"frontend,omitempty"`
	// Token is the server type's shared secret. It is never logged.
	Token string `json:"token"`
}

// LogValue leaves the token out, so that logging a RegisterInfo cannot leak
// it.
func (r RegisterInfo) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", r.ID),
		slog.String("type", r.Type),
		slog.Int("pid", r.Pid),
		slog.String("host", r.Host),
		slog.Int("port", r.Port),
	)
}

// member is the routing entry the registration describes.
func (r RegisterInfo) member() Member {
	return Member{
		ID: r.ID, Type: r.Type, Pid: r.Pid, StartTime: r.StartTime,
		Host: r.Host, Port: r.Port, ClientHost: r.ClientHost, ClientPort: r.ClientPort,
		Frontend: r.Frontend,
	}
}

// Member is one registered server.
//
// The first fields are its routing entry, which the master sends to every
// agent. Stats, LastHeartbeat, ConnectedSince and Remote are known to the
// master only (Hub.Members) and are zero in an Agent's view: fanning every
// server's stats out to every other server each second would cost n² for
// nothing a router needs.
type Member struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Pid        int    `json:"pid"`
	StartTime  uint64 `json:"startTime"`
	Host       string `json:"host"`
	Port       int    `json:"port,omitempty"`
	ClientHost string `json:"clientHost,omitempty"`
	ClientPort int    `json:"clientPort,omitempty"`
	Frontend   bool   `json:"frontend,omitempty"`

	Stats          Stats     `json:"stats,omitzero"`
	LastHeartbeat  time.Time `json:"lastHeartbeat,omitzero"`
	ConnectedSince time.Time `json:"connectedSince,omitzero"`
	Remote         string    `json:"remote,omitempty"` // the link's remote address, as the master sees it
}

// routing is m without what only the master knows: the form sent to agents.
func (m Member) routing() Member {
	m.Stats, m.LastHeartbeat, m.ConnectedSince, m.Remote = Stats{}, time.Time{}, time.Time{}, ""
	return m
}

// Stats is what a server reports in each heartbeat.
type Stats struct {
	// CPU is the process's CPU use since the previous sample, in percent of
	// one core (so above 100 on several cores, as top shows it).
	CPU float64 `json:"cpu"`
	// RSS is the resident set size in bytes.
	RSS        uint64 `json:"rss"`
	Goroutines int    `json:"goroutines"`
	// Connections is the number of client connections open now.
	Connections       int64   `json:"connections"`
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	// Errors counts the errors since the process started; the master takes
	// differences if it wants a rate.
	Errors uint64 `json:"errors"`
}

// Refusal codes, in a refused message's code, say why the master would not
// take a server, and so whether trying again can help.
const (
	// RefusedToken: the token is missing or wrong, or the master has none
	// for the server's type. Retrying cannot help: the agent gives up.
	RefusedToken = "token"
	// RefusedInvalid: the register message is malformed (no id, no type).
	// The agent gives up too.
	RefusedInvalid = "invalid"
	// RefusedDuplicate: another process with the same id holds a live link.
	// The agent keeps trying: if that process is dead, its link is lost
	// within the heartbeat timeout and the next try gets in.
	RefusedDuplicate = "duplicate"
	// RefusedVersion: the agent speaks another protocol version. The agent
	// keeps trying, since another master (an upgraded standby) may speak it.
	RefusedVersion = "version"
	// RefusedClosing: the master is shutting down.
	RefusedClosing = "closing"
)

// frame is one WebSocket text message: a JSON object with exactly one key,
// the message's name. The name as the key, rather than a "type" field,
// leaves "type" free for the server type in register and decodes in one pass.
type frame struct {
	Register  *registerMsg  `json:"register,omitempty"`
	Heartbeat *heartbeatMsg `json:"heartbeat,omitempty"`
	Bye       *byeMsg       `json:"bye,omitempty"`
	Result    *resultMsg    `json:"result,omitempty"`

	Welcome *welcomeMsg `json:"welcome,omitempty"`
	Refused *refusedMsg `json:"refused,omitempty"`
	Members *membersMsg `json:"members,omitempty"`
	States  *statesMsg  `json:"states,omitempty"`
	Command *commandMsg `json:"command,omitempty"`
}

type registerMsg struct {
	RegisterInfo
	Version int `json:"version"`
}

type heartbeatMsg struct {
	Stats Stats `json:"stats"`
}

type byeMsg struct {
	Reason string `json:"reason"`
	// Epoch, when the agent leaves because it fenced the master off, is the
	// higher epoch the agent has seen: the master learns it is stale.
	Epoch uint64 `json:"epoch,omitempty"`
}

type resultMsg struct {
	ID    uint64 `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type welcomeMsg struct {
	Master  string   `json:"master"`
	Epoch   uint64   `json:"epoch"`
	Members []Member `json:"members"`
	// Partial marks a welcome from a master still settling (see
	// HubConfig.Settle): members may be missing because they have not
	// registered yet, so the agent adds these to what it knew instead of
	// replacing it.
	Partial bool `json:"partial,omitempty"`
	// States are the servers' supervision states, as the master knows
	// them (see statesMsg).
	States map[string]string `json:"states,omitempty"`
}

// StateDraining is the state the master gives a running frontend it
// drains: gates hand it out no more and its readiness endpoint answers
// 503, while it serves the players it has.
const StateDraining = "draining"

// statesMsg tells agents of changes to servers' supervision states
// ("starting", "backoff", "stopping", "stopped", "exited", "failed",
// "running"): what a router needs to tell a server that is restarting,
// and worth waiting for, from one that an operator stopped or that will
// not come back by itself. An agent that does not know it skips it.
// A running frontend the master drains is StateDraining.
type statesMsg struct {
	Epoch  uint64            `json:"epoch"`
	States map[string]string `json:"states"`
}

type refusedMsg struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

type membersMsg struct {
	Epoch  uint64   `json:"epoch"`
	Joined []Member `json:"joined,omitempty"`
	Left   []string `json:"left,omitempty"`
	// Full marks the end of a master's settle window: Joined is the whole
	// membership, and the agent drops anyone not on it.
	Full bool `json:"full,omitempty"`
}

type commandMsg struct {
	ID   uint64          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// encode marshals a frame. The types above marshal without error (no
// channels, funcs or cyclic values, and RawMessage is checked on the way
// in), so a failure here is a bug in this package.
func encode(f frame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		panic("monitor: encoding a frame: " + err.Error())
	}
	return b
}

// CommandAfterStartAll is the command the master sends every server once all
// of them have started, to run their afterStartAll hooks (Pomelo's).
const CommandAfterStartAll = "afterStartAll"

// CommandKick is the command that makes a frontend kick every client, with
// the reason in KickArgs: a rollout's drain deadline.
const CommandKick = "kick"

// KickArgs are CommandKick's arguments.
type KickArgs struct {
	Reason string `json:"reason"`
}
