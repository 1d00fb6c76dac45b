package master

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/topology"
)

// The admin API's commands, as admin.Cluster: each runs on the run loop and
// the acting ones wait for their outcome, so that `pomeloctl stop X`
// returns once X is stopped and says so if it could not be.

// commandWait caps how long an admin command waits for its outcome, within
// the admin client's 30s.
const commandWait = 25 * time.Second

var _ admin.Cluster = (*Master)(nil)

// Servers lists every server, in the topology's order, then those added.
func (m *Master) Servers(ctx context.Context) ([]admin.ServerStatus, error) {
	var out []admin.ServerStatus
	err := m.exec(ctx, func() {
		stats := m.stats()
		for _, mem := range m.members {
			out = append(out, m.status(mem, stats))
		}
	})
	return out, err
}

// stats is every server with a monitor link, by id, with its last
// heartbeat's figures.
func (m *Master) stats() map[string]monitor.Member {
	byID := map[string]monitor.Member{}
	for _, mb := range m.hub.Members() {
		byID[mb.ID] = mb
	}
	return byID
}

func (m *Master) status(mem *member, stats map[string]monitor.Member) admin.ServerStatus {
	s := mem.srv
	st := admin.ServerStatus{
		ID:         s.ID,
		Type:       s.Type,
		State:      mem.m.State().String(),
		Host:       s.Host,
		Port:       s.Port,
		ClientPort: s.ClientPort,
		Frontend:   s.Frontend,
		Group:      s.Group,
		Draining:   mem.draining,
		Restarts:   mem.m.Restarts(),
	}
	if s.CPU != nil {
		st.CPUs = s.CPU.String()
	}
	switch mem.m.State() {
	case lifecycle.Exited, lifecycle.Failed, lifecycle.Backoff, lifecycle.Stopping:
		st.Reason = mem.last.Reason
	case lifecycle.Stopped:
		if slices.Contains(m.held, mem) {
			st.Reason = "a frontend, launched once the backends have registered"
		}
	}
	if p := mem.proc; p != nil {
		st.Pid, st.Started = p.shownPid(), p.started
		st.Program = p.program
		if p.config != nil {
			st.Config, st.ConfigParts = p.config.Digest, p.config.Parts
		}
	}
	if mb, ok := stats[s.ID]; ok && mem.current(mb.Pid) {
		st.CPU = mb.Stats.CPU
		st.RSS = int64(mb.Stats.RSS)
		st.Connections = int(mb.Stats.Connections)
		st.RequestsPerSecond = mb.Stats.RequestsPerSecond
		st.Errors = mb.Stats.Errors
	}
	return st
}

// member looks a server up for an admin command.
func (m *Master) member(id string) (*member, error) {
	if m.stopping {
		return nil, admin.Errorf(http.StatusServiceUnavailable, "the cluster is going down")
	}
	mem := m.byID[id]
	if mem == nil {
		return nil, admin.Errorf(http.StatusNotFound, "no server %q in this cluster (`pomeloctl ls` lists them)", id)
	}
	return mem, nil
}

// act applies an operator's cause to server id on the loop, then waits
// until the server is no longer live (settled says so for start and
// restart instead).
func (m *Master) act(ctx context.Context, ids []string, c lifecycle.Cause, settled func(*member, uint64) bool) error {
	var err error
	var mems []*member
	seqs := map[*member]uint64{}
	if e := m.exec(ctx, func() {
		for _, id := range ids {
			mem, e := m.member(id)
			if e != nil {
				err = e
				return
			}
			mems = append(mems, mem)
		}
		for _, mem := range mems {
			seqs[mem] = mem.last.Seq
			if !isStart(c) {
				// A frontend held until the backends register stays down
				// when an operator stops it meanwhile.
				m.held = slices.DeleteFunc(m.held, func(h *member) bool { return h == mem })
			}
			m.apply(mem, c)
		}
	}); e != nil {
		return e
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, commandWait)
	defer cancel()
	if err := m.waitFor(ctx, func() bool {
		return !slices.ContainsFunc(mems, func(mem *member) bool { return !settled(mem, seqs[mem]) })
	}); err != nil {
		return admin.Errorf(http.StatusGatewayTimeout, "%s: still waiting after %s (`pomeloctl ls` shows where it is)", strings.Join(ids, ", "), commandWait)
	}
	// A start that ended anywhere but Running failed: say why.
	var failed []string
	if e := m.exec(ctx, func() {
		for _, mem := range mems {
			if settled(mem, seqs[mem]) && isStart(c) && mem.m.State() != lifecycle.Running {
				failed = append(failed, fmt.Sprintf("%s is %s: %s (`pomeloctl logs %s`)", mem.srv.ID, mem.m.State(), mem.last.Reason, mem.srv.ID))
			}
		}
	}); e != nil {
		return e
	}
	if len(failed) > 0 {
		return admin.Errorf(http.StatusConflict, "%s", strings.Join(failed, "; "))
	}
	return nil
}

func isStart(c lifecycle.Cause) bool {
	switch c.(type) {
	case lifecycle.StartRequested, lifecycle.RestartRequested:
		return true
	}
	return false
}

// down reports a server whose process is gone.
func down(mem *member, _ uint64) bool {
	return !mem.m.State().Live()
}

// started reports a server that has run (or failed to) since event seq.
func started(mem *member, seq uint64) bool {
	if mem.last.Seq == seq {
		return false // nothing happened yet: a restart's stop comes first
	}
	switch mem.m.State() {
	case lifecycle.Running, lifecycle.Exited, lifecycle.Failed, lifecycle.Backoff, lifecycle.Stopped:
		return true
	}
	return false
}

// Kill kills a server's process group. A server that is not running is
// left as it is.
func (m *Master) Kill(ctx context.Context, id string) error {
	return m.act(ctx, []string{id}, lifecycle.KillRequested{}, down)
}

// frontends are the members ids, on the loop, refused with why when one
// is not in the cluster or not a frontend (with what not being one means
// for the command).
func (m *Master) frontends(ids []string, notOne string) ([]*member, error) {
	var mems []*member
	for _, id := range ids {
		mem := m.byID[id]
		switch {
		case mem == nil:
			return nil, admin.Errorf(http.StatusNotFound, "no server %q in this cluster (`pomeloctl ls` lists them)", id)
		case !mem.srv.Frontend:
			return nil, admin.Errorf(http.StatusBadRequest, "%s is a %s, not a frontend: %s", id, mem.srv.Type, notOne)
		}
		mems = append(mems, mem)
	}
	return mems, nil
}

// Drain takes frontends out of the gates' rotation (on) or puts them back:
// at once, for every server, so that an operator sees it done on return.
// Only frontends: a backend's players are not connected to it.
func (m *Master) Drain(ctx context.Context, ids []string, on bool) error {
	var err error
	if xerr := m.exec(ctx, func() {
		var mems []*member
		if mems, err = m.frontends(ids, "players do not connect to it, so there is nothing to drain"); err != nil {
			return
		}
		for _, mem := range mems {
			if mem.draining == on {
				continue
			}
			mem.draining = on
			m.hub.SetState(mem.srv.ID, publishedState(mem))
			m.log.Info(map[bool]string{true: "server draining", false: "server undrained"}[on], "server", mem.srv.ID)
		}
	}); xerr != nil {
		return xerr
	}
	return err
}

// Kick makes frontends kick every client with reason (a rollout's drain
// deadline): each answers what it is handling first, and serves on.
func (m *Master) Kick(ctx context.Context, ids []string, reason string) error {
	var refused error
	if err := m.exec(ctx, func() { _, refused = m.frontends(ids, "it has no players to kick") }); err != nil {
		return err
	}
	if refused != nil {
		return refused
	}
	var errs []error
	for _, id := range ids {
		if err := m.hub.Command(ctx, id, monitor.CommandKick, monitor.KickArgs{Reason: reason}); err != nil {
			errs = append(errs, fmt.Errorf("kick the players of %s: %w", id, err))
		}
	}
	m.log.Info("kicked the players of frontends", "servers", ids, "reason", reason)
	return errors.Join(errs...)
}

// Note posts a line to everyone watching the event stream.
func (m *Master) Note(_ context.Context, text string) error {
	m.journal.Publish(admin.Event{Kind: admin.KindNote, Note: text})
	return nil
}

// Stop stops servers gracefully; no ids stops every server (the master
// stays, to start them again).
func (m *Master) Stop(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		if err := m.exec(ctx, func() {
			for _, mem := range m.members {
				ids = append(ids, mem.srv.ID)
			}
		}); err != nil {
			return err
		}
	}
	return m.act(ctx, ids, lifecycle.StopRequested{}, down)
}

// Restart stops a server if it runs and starts it again; it returns once
// the server runs, or says why it does not.
func (m *Master) Restart(ctx context.Context, id string) error {
	return m.act(ctx, []string{id}, lifecycle.RestartRequested{}, started)
}

// Add starts a new server of a declared type and returns once it runs.
func (m *Master) Add(ctx context.Context, req admin.AddRequest) (admin.ServerStatus, error) {
	spec := topology.AddSpec(req)
	var err error
	if e := m.exec(ctx, func() {
		if m.stopping {
			err = admin.Errorf(http.StatusServiceUnavailable, "the cluster is going down")
			return
		}
		t := m.cfg.Topology
		var s *topology.Server
		if s, err = t.NewServer(spec, m.cfg.Machine); err != nil {
			err = admin.Errorf(http.StatusConflict, "add: %v", err)
			return
		}
		if err = portsFree(s); err != nil {
			err = admin.Errorf(http.StatusConflict, "add: %v", err)
			return
		}
		spec = topology.AddSpec{Type: s.Type, ID: s.ID, Host: s.Host, Port: s.Port, ClientPort: s.ClientPort}
		added, e := m.dir.added()
		if e == nil {
			e = m.dir.write("added.json", append(added, spec), 0o644)
		}
		if e != nil {
			err = fmt.Errorf("add: record the server in the run directory: %w", e)
			return
		}
		m.shareFile("added.json")
		t.AddServer(s)
		if err = m.track(s, &spec); err != nil {
			return
		}
		m.log.Info("server added", "server", s.ID, "type", s.Type, "port", s.Port, "clientPort", s.ClientPort)
	}); e != nil {
		return admin.ServerStatus{}, e
	}
	if err != nil {
		return admin.ServerStatus{}, err
	}
	err = m.act(ctx, []string{spec.ID}, lifecycle.StartRequested{}, started)
	var st admin.ServerStatus
	if e := m.exec(ctx, func() { st = m.status(m.byID[spec.ID], m.stats()) }); e != nil {
		return st, e
	}
	return st, err
}

// portsFree checks that a local server's ports are not held by some other
// program: the topology knows only its own.
func portsFree(s *topology.Server) error {
	if !s.Local {
		return nil
	}
	for _, p := range []int{s.Port, s.ClientPort} {
		if p == 0 {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(s.Host, strconv.Itoa(p)))
		if err != nil {
			return fmt.Errorf("port %d on %s is in use by another program: %w", p, s.Host, err)
		}
		ln.Close()
	}
	return nil
}

// Down stops every server, frontends first, and then the master.
func (m *Master) Down(ctx context.Context) error {
	if m.cfg.beforeDown != nil {
		if err := m.cfg.beforeDown(); err != nil {
			return admin.Errorf(http.StatusServiceUnavailable, "not brought down: %v", err)
		}
	}
	if err := m.exec(ctx, func() { m.shutdown("down requested") }); err != nil {
		return err
	}
	select {
	case <-m.stoppedCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxLogChunk bounds one read of a log.
const maxLogChunk = 1 << 20

// Logs reads a server's log file (or the master's, id "master").
func (m *Master) Logs(ctx context.Context, req admin.LogRequest) (admin.LogChunk, error) {
	if req.ID != "master" {
		known := false
		if err := m.exec(ctx, func() { known = m.byID[req.ID] != nil }); err != nil {
			return admin.LogChunk{}, err
		}
		if !known {
			return admin.LogChunk{}, admin.Errorf(http.StatusNotFound, "no server %q in this cluster (`pomeloctl ls` lists them)", req.ID)
		}
	}
	path := m.dir.Log(req.ID)
	chunk, err := readLog(path, req.Offset, req.Tail)
	chunk.ID = req.ID
	if errors.Is(err, os.ErrNotExist) {
		return chunk, nil // nothing logged yet
	}
	return chunk, err
}

// TailLog returns the last lines of a log file ("" when it does not exist).
func TailLog(path string, lines int) (string, error) {
	chunk, err := readLog(path, -1, lines)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return chunk.Data, err
}

// readLog reads from offset, or the last tail lines for a negative offset.
func readLog(path string, offset int64, tail int) (admin.LogChunk, error) {
	chunk := admin.LogChunk{Path: path}
	f, err := os.Open(path)
	if err != nil {
		return chunk, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return chunk, err
	}
	size := fi.Size()
	if offset < 0 {
		if tail <= 0 {
			tail = 20
		}
		offset = tailOffset(f, size, tail)
	}
	if offset > size {
		offset = 0 // the file was truncated or replaced: start over
	}
	n := min(size-offset, maxLogChunk)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, offset); err != nil && !errors.Is(err, io.EOF) {
		return chunk, err
	}
	chunk.Data, chunk.Next = string(buf), offset+n
	return chunk, nil
}

// tailOffset finds where the last n lines of a file begin.
func tailOffset(f *os.File, size int64, n int) int64 {
	const block = 64 << 10
	end := size
	lines := 0
	for end > 0 {
		start := max(end-block, 0)
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return 0
		}
		for i := len(buf) - 1; i >= 0; i-- {
			// The newline that ends the last line does not start a line.
			if buf[i] == '\n' && start+int64(i) != size-1 {
				lines++
				if lines == n {
					return start + int64(i) + 1
				}
			}
		}
		end = start
		if size-end > maxLogChunk {
			return end
		}
	}
	return 0
}

// Info describes the master.
func (m *Master) Info(ctx context.Context) (admin.MasterInfo, error) {
	info := admin.MasterInfo{Name: m.cfg.Topology.Name, ID: m.cfg.ID, Pid: os.Getpid(), StartTime: m.startTime, Addr: m.addr, Epoch: m.epoch,
		Topology: m.cfg.Topology.File, RunDir: string(m.dir), Started: m.started}
	err := m.exec(ctx, func() { info.Ready = m.isReady })
	if m.cfg.masters != nil {
		info.Masters = m.cfg.masters()
	}
	return info, err
}

// Config is server id's resolved configuration, as the topology (and a
// runtime add) made it; secrets are redacted when marshalled.
func (m *Master) Config(ctx context.Context, id string) (any, error) {
	var srv topology.Server
	var found bool
	err := m.exec(ctx, func() {
		if mem := m.byID[id]; mem != nil {
			srv, found = *mem.srv, true
		}
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, admin.Errorf(http.StatusNotFound, "no server %q in this cluster (`pomeloctl ls` lists them)", id)
	}
	return srv, nil
}

// Promote hands the lead to the standby master id: at once, the servers
// running on. Without master HA there is no standby.
func (m *Master) Promote(ctx context.Context, id string) error {
	if m.cfg.promote == nil {
		return admin.Errorf(http.StatusBadRequest, "promote %s: the cluster has no standby masters (the topology declares no ha)", id)
	}
	if !m.acting() {
		return admin.Errorf(http.StatusServiceUnavailable, "this master is no longer the leader")
	}
	return m.cfg.promote(id)
}
