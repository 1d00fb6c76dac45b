package master

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// RunDir is a cluster's run directory: the master's record, each server's
// pid and start time, the generated tokens, the servers added at runtime,
// and every log. It is what a restarted master adopts from and what
// `pomeloctl down` checks.
//
//	master.json          the running master (pid, start time, address, epoch)
//	servers/ID.json      each live server's process
//	added.json           servers added with `pomeloctl add`
//	tokens.json          generated tokens (mode 0600)
//	logs/ID.log          each server's stdout and stderr; logs/master.log
type RunDir string

// DefaultRunDir is .pomeloctl/<master port> beside the topology file, so
// that clusters of one topology run side by side with --port-offset.
func DefaultRunDir(t *topology.Topology) RunDir {
	return RunDir(filepath.Join(filepath.Dir(t.File), ".pomeloctl", strconv.Itoa(t.Master.Port)))
}

// Log is the log file of server id (or "master").
func (d RunDir) Log(id string) string { return filepath.Join(string(d), "logs", id+".log") }

// MasterRecord is the running master, as master.json holds it.
type MasterRecord struct {
	ID         string    `json:"id"`
	Pid        int       `json:"pid"`
	StartTime  uint64    `json:"startTime"`
	Addr       string    `json:"addr"`
	Epoch      uint64    `json:"epoch"`
	Topology   string    `json:"topology"`
	Profiles   []string  `json:"profiles,omitempty"`
	PortOffset int       `json:"portOffset"`
	Started    time.Time `json:"started"`
}

// Alive reports whether the recorded master process still runs.
func (r MasterRecord) Alive() bool { return r.Pid > 0 && proc.Alive(r.Pid, r.StartTime) }

// Master reads master.json; an error wrapping fs.ErrNotExist when there is none.
func (d RunDir) Master() (MasterRecord, error) {
	var r MasterRecord
	return r, d.read("master.json", &r)
}

// ServerRecord is one live server process, as servers/ID.json holds it.
type ServerRecord struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Pid       int       `json:"pid"`
	StartTime uint64    `json:"startTime"`
	Started   time.Time `json:"started"`
	// Program and Config are what the process was launched with (see
	// admin.ServerStatus), so that a master that adopts it knows too.
	Program string                `json:"program,omitempty"`
	Config  *topology.Fingerprint `json:"config,omitempty"`
}

// Servers reads every server record, sorted by id.
func (d RunDir) Servers() ([]ServerRecord, error) {
	entries, err := os.ReadDir(filepath.Join(string(d), "servers"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	var out []ServerRecord
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		var r ServerRecord
		if err := d.read(filepath.Join("servers", e.Name()), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (d RunDir) writeServer(r ServerRecord) error {
	return d.write(filepath.Join("servers", r.ID+".json"), r, 0o644)
}

func (d RunDir) removeServer(id string) error {
	err := os.Remove(filepath.Join(string(d), "servers", id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d RunDir) added() ([]topology.AddSpec, error) {
	var specs []topology.AddSpec
	err := d.read("added.json", &specs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return specs, err
}

// tokens returns the generated token of each type in types, keeping those
// an earlier master of this run generated so that the servers it launched
// are taken back.
func (d RunDir) tokens(types []string) (map[string]string, error) {
	toks := map[string]string{}
	if err := d.read("tokens.json", &toks); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	changed := false
	for _, t := range types {
		if toks[t] == "" {
			b := make([]byte, 16)
			_, _ = rand.Read(b)
			toks[t], changed = hex.EncodeToString(b), true
		}
	}
	if changed {
		if err := d.write("tokens.json", toks, 0o600); err != nil {
			return nil, err
		}
	}
	return toks, nil
}

// clear removes what a cluster that is down leaves behind, logs excepted.
func (d RunDir) clear() error {
	var errs []error
	for _, name := range []string{"master.json", "added.json", "tokens.json", "servers"} {
		if err := os.RemoveAll(filepath.Join(string(d), name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d RunDir) read(name string, v any) error {
	data, err := os.ReadFile(filepath.Join(string(d), name))
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("run directory: %s is damaged: %w", filepath.Join(string(d), name), err)
	}
	return nil
}

// write replaces a file whole (through a rename), so that a reader, or a
// master killed half-way, never sees half a record.
func (d RunDir) write(name string, v any, mode os.FileMode) error {
	path := filepath.Join(string(d), name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), mode); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	return nil
}

// ProcessRecord is a helper process of the cluster's: the supervisor of a
// managed ZooKeeper (zookeeper.json) or Redis (redis.json).
type ProcessRecord struct {
	Pid       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
	Addr      string `json:"addr"`
	// Path is the cluster's ha.path in that ZooKeeper, and Auth its
	// digest auth.
	Path string `json:"path,omitempty"`
	Auth string `json:"auth,omitempty"`
}

// Alive reports whether the recorded process still runs.
func (r ProcessRecord) Alive() bool { return r.Pid > 0 && proc.Alive(r.Pid, r.StartTime) }

// Helper reads NAME.json: the supervisor of the managed helper name
// (zookeeper, redis) that up started.
func (d RunDir) Helper(name string) (ProcessRecord, error) {
	var r ProcessRecord
	return r, d.read(name+".json", &r)
}

// WriteHelper records the supervisor of helper name.
func (d RunDir) WriteHelper(name string, r ProcessRecord) error {
	return d.write(name+".json", r, 0o644)
}

// ClearHelper forgets it.
func (d RunDir) ClearHelper(name string) error {
	err := os.Remove(filepath.Join(string(d), name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// sharedFiles are the run directory's files a leader on another host
// needs, which master HA keeps in ZooKeeper too (Config.share), with the
// mode each is written with: the tokens that servers started by an
// earlier leader present, and the servers added at runtime.
func sharedFiles() map[string]os.FileMode {
	return map[string]os.FileMode{"tokens.json": 0o600, "added.json": 0o644}
}

// writeRaw replaces a file of the run directory with data, as write does.
func (d RunDir) writeRaw(name string, data []byte, mode os.FileMode) error {
	return d.write(name, json.RawMessage(data), mode)
}
