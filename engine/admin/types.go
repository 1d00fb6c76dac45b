package admin

import (
	"context"
	"encoding/json"
	"time"
)

// ServerStatus is one server as `pomeloctl ls` shows it.
type ServerStatus struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	State      string `json:"state"`
	Reason     string `json:"reason,omitempty"` // why it is in that state, for exited and failed
	Pid        int    `json:"pid,omitempty"`
	Host       string `json:"host"`
	Port       int    `json:"port,omitempty"`
	ClientPort int    `json:"clientPort,omitempty"`
	Frontend   bool   `json:"frontend,omitempty"`
	// Group is the group a rollout takes it out of service with.
	Group string `json:"group,omitempty"`
	// Draining: the gates hand it out no more and its readiness endpoint
	// answers 503, while its players play on (pomeloctl drain, rollouts).
	Draining bool `json:"draining,omitempty"`
	// Program and Config say what its process runs: its program's build
	// (proc.ProgramVersion) and the digest of its resolved configuration
	// (topology.Fingerprint), with ConfigParts the digest of each part;
	// empty while it has no process, or when unknown (a server on another
	// host adopted from its own master).
	Program     string            `json:"program,omitempty"`
	Config      string            `json:"config,omitempty"`
	ConfigParts map[string]string `json:"configParts,omitempty"`
	CPUs        string            `json:"cpus,omitempty"` // the CPUs it is pinned to, "0-1,3"
	Started     time.Time         `json:"started,omitzero"`
	CPU         float64           `json:"cpu"`
	RSS         int64             `json:"rss"`
	Connections int               `json:"connections"`
	// RequestsPerSecond and Errors (since the process started) are the
	// server's own counts, from its last heartbeat.
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	Errors            uint64  `json:"errors"`
	Restarts          int     `json:"restarts"`
}

// AddRequest starts a new server of a declared type at runtime.
type AddRequest struct {
	Type       string `json:"type"`
	ID         string `json:"id,omitempty"` // generated from the type when empty
	Host       string `json:"host,omitempty"`
	Port       int    `json:"port,omitempty"`
	ClientPort int    `json:"clientPort,omitempty"`
}

// ApplyRequest makes servers take their settings from another topology
// at their next start: a rollout's. Source is the topology as
// topology.Topology.Source holds it (profiles merged), File where it is
// (its relative paths are taken from there).
type ApplyRequest struct {
	File   string   `json:"file"`
	Source string   `json:"source"`
	IDs    []string `json:"ids"`
}

// LogRequest reads part of a server's log (or the master's, id "master").
type LogRequest struct {
	ID string `json:"id"`
	// Offset is where to read from; negative reads the last Tail lines.
	Offset int64 `json:"offset"`
	// Tail is how many lines a negative Offset reads (default 20).
	Tail int `json:"tail,omitempty"`
}

// LogChunk is what a LogRequest read: Data, and Next, the offset to read
// on from (to follow the log, as `pomeloctl logs -f` does).
type LogChunk struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	Data string `json:"data"`
	Next int64  `json:"next"`
}

// MasterInfo describes the master itself.
type MasterInfo struct {
	// Name is the cluster's (the topology's name).
	Name      string    `json:"name,omitempty"`
	ID        string    `json:"id"`
	Pid       int       `json:"pid"`
	StartTime uint64    `json:"startTime"`
	Addr      string    `json:"addr"`
	Epoch     uint64    `json:"epoch"`
	Topology  string    `json:"topology"`
	RunDir    string    `json:"runDir"`
	Started   time.Time `json:"started"`
	// Ready is whether every server has been running at once since the
	// master started.
	Ready bool `json:"ready"`
	// Masters are the cluster's masters with master HA (none without):
	// the leader, the standbys in the election, and those declared but
	// absent from it.
	Masters []MasterStatus `json:"masters,omitempty"`
}

// MasterStatus is one master of master HA, as the leader sees it.
type MasterStatus struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	// Role is "leader", "standby" (in the election, next by sequence) or
	// "absent" (declared, not in the election: not running, or cut off).
	Role string `json:"role"`
	// Session is the master's ZooKeeper session: "connected" for those
	// in the election (their node lives with their session), the
	// leader's own state for the leader, "none" for the absent.
	Session string `json:"session"`
	Epoch   uint64 `json:"epoch,omitempty"` // the leader's
}

// Levels, as in Pomelo's adminUser.json: 1 may act, 2 and above may only read.
const (
	LevelAct  = 1
	LevelRead = 2
)

// User may call the admin API.
type User struct {
	Name     string
	Password string
	Level    int
}

// Module is one admin command. Level is the highest user level that may call it:
// LevelAct for commands that change the cluster, LevelRead for those that only
// read.
type Module struct {
	Name  string
	Level int
	// Handle runs the command with its JSON arguments and returns a value to
	// answer with as JSON. An *Error chooses the HTTP status.
	Handle func(ctx context.Context, user User, args json.RawMessage) (any, error)
}

// Cluster is what the built-in modules act on: the master.
type Cluster interface {
	Servers(ctx context.Context) ([]ServerStatus, error)
	Kill(ctx context.Context, id string) error
	Stop(ctx context.Context, ids []string) error
	Restart(ctx context.Context, id string) error
	Add(ctx context.Context, req AddRequest) (ServerStatus, error)
	Down(ctx context.Context) error
	Logs(ctx context.Context, req LogRequest) (LogChunk, error)
	Info(ctx context.Context) (MasterInfo, error)
	// Promote hands the lead to the standby master id (master HA).
	Promote(ctx context.Context, id string) error
	// Config is server id's resolved configuration, secrets redacted.
	Config(ctx context.Context, id string) (any, error)
	// Drain takes frontends out of the gates' rotation (on) or puts them
	// back (off); players already on them play on.
	Drain(ctx context.Context, ids []string, on bool) error
	// Apply makes servers take their settings (and program) from another
	// topology at their next start; Revert puts back what they ran before.
	Apply(ctx context.Context, req ApplyRequest) error
	Revert(ctx context.Context, ids []string) error
	// Kick makes frontends kick every client with reason, once the
	// requests they are handling are answered; they serve on.
	Kick(ctx context.Context, ids []string, reason string) error
	// Note posts a line to everyone watching the event stream.
	Note(ctx context.Context, text string) error
}

// Whoami is the user a request authenticated as.
type Whoami struct {
	Name  string `json:"name"`
	Level int    `json:"level"`
}
