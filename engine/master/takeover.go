package master

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Taking over a cluster that runs: a master adopts the servers an earlier
// master left (same pids), and a leader of master HA on another host the
// servers no record of its names.

// adoptable returns the recorded processes still running, by server id.
func (m *Master) adoptable() (map[string]ServerRecord, error) {
	recs, err := m.dir.Servers()
	if err != nil {
		return nil, err
	}
	out := map[string]ServerRecord{}
	for _, r := range recs {
		if proc.Alive(r.Pid, r.StartTime) {
			out[r.ID] = r
		} else if err := m.dir.removeServer(r.ID); err != nil {
			m.log.Warn("could not remove a stale server record", "server", r.ID, "err", err)
		}
	}
	return out, nil
}

// adopt takes over a server process an earlier master left running.
func (m *Master) adopt(mem *member, r ServerRecord) {
	m.gen++
	p := &process{gen: m.gen, pid: r.Pid, startTime: r.StartTime, started: r.Started, adopted: true, remote: !mem.srv.Local, program: r.Program, config: r.Config}
	ctx, cancel := context.WithCancel(m.loopCtx)
	p.watch = cancel
	mem.proc = p
	go func() {
		if err := proc.WaitGone(ctx, p.pid, p.startTime); err == nil {
			post(m, m.exits, exitMsg{id: mem.srv.ID, gen: p.gen, exit: lifecycle.Exit{Code: -1}})
		}
	}()
	m.apply(mem, lifecycle.Adopted{Pid: r.Pid})
	m.after(m.cfg.RegisterTimeout, timerMsg{id: mem.srv.ID, gen: p.gen, kind: registerDeadline})
	m.wake(mem)
}

// wake tells an adopted server's monitor agent that this master listens
// now. Its agent has been failing to reach the dead master and backing off,
// up to 5s between attempts by now if that master died a while ago; left to
// its back-off, the cluster would be ready only once the slowest server's
// wait is over. The signal goes to the process group, where the server is
// even when a wrapper script leads the group. A server on another host is
// not reached: the process recorded here is its ssh client, and its own pid
// there is learnt from its registration, so it registers when its wait ends.
func (m *Master) wake(mem *member) {
	p := mem.proc
	if p == nil || p.remote {
		return
	}
	err := proc.KillGroup(p.pid, p.startTime, monitor.WakeSignal)
	switch {
	case errors.Is(err, proc.ErrGone):
		// Died since it was found alive: its watcher reports the exit.
	case err != nil:
		m.log.Warn("could not wake an adopted server's monitor link; it registers when its back-off ends", "server", mem.srv.ID, "pid", p.pid, "err", err)
	}
}

// settleWindow is how long a new master gives the servers it takes over
// to register (the monitor hub's settle window): longer than a monitor
// agent's longest wait between two attempts to reach a master.
const settleWindow = 7 * time.Second

// endAwait launches the servers still awaited when the settle window
// ends: they do not run anywhere the cluster's masters can reach.
func (m *Master) endAwait() {
	var launch []*member
	for _, mem := range m.members {
		if m.awaiting[mem.srv.ID] && mem.proc == nil {
			launch = append(launch, mem)
		}
	}
	clear(m.awaiting)
	if len(launch) == 0 || m.stopping {
		return
	}
	ids := make([]string, len(launch))
	for i, mem := range launch {
		ids[i] = mem.srv.ID
	}
	m.log.Info("launching the servers that did not register within the settle window", "servers", ids, "window", settleWindow)
	m.launchAll(launch)
}

// adoptLinked takes over a server that registered while this master
// awaited it: a process no record here names, started by a leader on
// another host. On this host it is watched as any adopted process, by
// the pid it registered with; on another, its monitor link is all this
// master sees of it (a process with no local pid: see linkOnly).
func (m *Master) adoptLinked(mem *member, mb monitor.Member) {
	s, pid := mem.srv, mb.Pid
	if s.Local {
		st, err := proc.StartTime(pid)
		if err != nil {
			m.log.Warn("a server registered with a pid this host does not run; still waiting for it", "server", s.ID, "pid", pid, "err", err)
			return
		}
		delete(m.awaiting, s.ID)
		r := ServerRecord{ID: s.ID, Type: s.Type, Pid: pid, StartTime: st, Started: time.Now()}
		if err := m.dir.writeServer(r); err != nil {
			m.log.Warn("could not record a server's process; a restarted master will not adopt it", "server", s.ID, "err", err)
		}
		m.adopt(mem, r)
		return
	}
	delete(m.awaiting, s.ID)
	m.gen++
	p := &process{gen: m.gen, started: time.Now(), adopted: true, remote: true, remotePid: pid, startTime: mb.StartTime}
	mem.proc = p
	m.watchRemote(s, p)
	m.apply(mem, lifecycle.Adopted{Pid: pid})
}

// watchRemote stands in for the ssh client that a server on another host
// has when this master launched it: an ssh session on its host that ends
// when the process does, which is then taken for its exit (status
// unknown, as for any adopted process). A session that fails (the host
// unreachable) is opened again: losing sight of a server is not its end.
func (m *Master) watchRemote(s *topology.Server, p *process) {
	ctx, cancel := context.WithCancel(m.loopCtx)
	p.watch = cancel
	script := watchScript(p.remotePid, p.startTime)
	go func() {
		for {
			out, err := exec.CommandContext(ctx, "ssh", m.sshArgs(s.Host, script)...).CombinedOutput()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				post(m, m.exits, exitMsg{id: s.ID, gen: p.gen, exit: lifecycle.Exit{Code: -1}})
				return
			}
			m.log.Warn("cannot watch a server on its host over ssh; trying again", "server", s.ID, "host", s.Host, "pid", p.remotePid, "err", err, "output", strings.TrimSpace(string(out)))
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
}

// watchScript is a POSIX shell loop that ends once process pid is gone: no
// longer in /proc, a zombie (its parent may reap it late: it has exited),
// or, with its start time known, another process that took the pid.
func watchScript(pid int, startTime uint64) string {
	same := ""
	if startTime != 0 {
		same = fmt.Sprintf(` && [ "${20}" = %d ]`, startTime)
	}
	return fmt.Sprintf(`while set -- $(sed 's/.*) //' /proc/%d/stat 2>/dev/null) && [ -n "$1" ] && [ "$1" != Z ]%s; do sleep 0.2; done`, pid, same)
}
