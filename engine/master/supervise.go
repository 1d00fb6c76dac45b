package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// member is one supervised server, owned by the run loop.
type member struct {
	srv   *topology.Server
	added *topology.AddSpec // how it was added at runtime; nil for the topology's
	m     *lifecycle.Machine
	last  lifecycle.Event // the latest change, for its reason
	proc  *process        // the current process; nil when there is none

	restartTimer *time.Timer
	restartGen   uint64 // the back-off the pending restartDue belongs to

	// draining: out of the gates' rotation until undrained, across its
	// restarts (a rollout drains, replaces, then undrains).
	draining bool
	// top is the topology srv comes from (nil: the master's); program a
	// build to run instead of its command (a rollback's); prev what it
	// ran before a rollout applied another topology (Apply, Revert).
	top     *topology.Topology
	program string
	prev    *version
}

// publishedState is the state the servers are told of mem: its
// supervision state, or monitor.StateDraining for a running frontend it
// drains (everything but the gates and its readiness takes it for running).
func publishedState(mem *member) string {
	st := mem.m.State()
	if mem.draining && st == lifecycle.Running {
		return monitor.StateDraining
	}
	return st.String()
}

// process is one process of a server: launched by this master (a child it
// waits for) or adopted from an earlier one (watched through a pidfd).
type process struct {
	gen       uint64 // tells this process's exit and timers from a later one's
	pid       int
	startTime uint64
	started   time.Time
	adopted   bool
	// A server on another host runs under a local ssh client (pid); its own
	// pid there is known once it registers.
	remote    bool
	remotePid int
	stopTimer *time.Timer
	watch     context.CancelFunc // stops the adopted process's watcher
	// program and config are what it was launched with; empty when not
	// known (see admin.ServerStatus).
	program string
	config  *topology.Fingerprint
}

// linkOnly is a server on another host that this master did not start
// (adoptLinked): no local ssh client of its launch stands for it, but an
// ssh session that watches it there (watchRemote).
func (p *process) linkOnly() bool { return p.pid == 0 }

// shownPid is the pid operators see: the process's, or for one watched
// only through its link, its pid on its host.
func (p *process) shownPid() int {
	if p.linkOnly() {
		return p.remotePid
	}
	return p.pid
}

type exitMsg struct {
	id   string
	gen  uint64
	exit lifecycle.Exit
}

type timerKind int

const (
	restartDue timerKind = iota
	stopDeadline
	registerDeadline
)

type timerMsg struct {
	id   string
	gen  uint64 // the process (stopDeadline, registerDeadline) or back-off (restartDue) it is about
	kind timerKind
}

// begin builds a machine per server (the topology's, and those added at
// runtime by an earlier master), adopts the running ones and launches the
// rest. It runs on the loop's goroutine before the loop starts.
func (m *Master) begin(adopt map[string]ServerRecord) error {
	t := m.cfg.Topology
	var errs []error
	for _, s := range t.AllServers() {
		if err := m.track(s, nil); err != nil {
			errs = append(errs, err)
		}
	}
	added, err := m.dir.added()
	if err != nil {
		errs = append(errs, err)
	}
	for _, spec := range added {
		s, err := t.NewServer(spec, m.cfg.Machine)
		if err != nil {
			errs = append(errs, fmt.Errorf("server %s added at runtime: %w", spec.ID, err))
			continue
		}
		t.AddServer(s)
		if err := m.track(s, &spec); err != nil {
			errs = append(errs, err)
		}
	}
	for id, r := range adopt {
		if mem := m.byID[id]; mem == nil {
			// Not part of the cluster any more (the topology changed while
			// its master was down): nobody would supervise it.
			m.log.Warn("killing a server left running that the topology no longer declares", "server", id, "pid", r.Pid)
			_ = proc.KillGroup(r.Pid, r.StartTime, syscall.SIGKILL)
			_ = m.dir.removeServer(id)
		}
	}
	m.checkReach()
	if len(adopt) == 0 && !m.cfg.awaitLinks {
		// The cluster starts afresh: whatever an earlier run left in its
		// channels is nobody's.
		m.cleanChannels()
	}
	var launch []*member
	for _, mem := range m.members {
		switch r, ok := adopt[mem.srv.ID]; {
		case ok:
			m.adopt(mem, r)
		case m.cfg.awaitLinks:
			m.awaiting[mem.srv.ID] = true
		default:
			launch = append(launch, mem)
		}
	}
	m.launchAll(launch)
	if n := len(m.awaiting); n > 0 {
		m.log.Info("waiting for the servers no record here names to register before launching them: a leader on another host may have started them",
			"servers", n, "within", settleWindow)
		time.AfterFunc(settleWindow, func() { post(m, m.reqs, m.endAwait) })
	}
	return errors.Join(errs...)
}

// launchAll launches servers that do not run: the backends at once, the
// frontends once the backends have registered.
func (m *Master) launchAll(mems []*member) {
	for _, mem := range mems {
		if mem.srv.Frontend {
			m.held = append(m.held, mem)
		} else {
			m.apply(mem, lifecycle.StartRequested{})
		}
	}
	m.releaseHeld(false)
	if len(m.held) > 0 {
		time.AfterFunc(m.cfg.RegisterTimeout, func() { post(m, m.reqs, func() { m.releaseHeld(true) }) })
	}
}

// releaseHeld launches the held frontends once no backend is still starting
// (or, forced, when the backends took too long to register). A frontend
// routes a request by the backends it sees: launched together with them, it
// could take its first clients while it sees only some, and send a room to
// another server than its peers do.
func (m *Master) releaseHeld(force bool) {
	if len(m.held) == 0 || m.stopping {
		m.held = nil
		return
	}
	if !force {
		for _, mem := range m.members {
			if !mem.srv.Frontend && mem.m.State() == lifecycle.Starting {
				return
			}
		}
	}
	held := m.held
	m.held = nil
	for _, mem := range held {
		if mem.m.State() == lifecycle.Stopped {
			m.apply(mem, lifecycle.StartRequested{})
		}
	}
}

// checkReach warns when servers on other hosts are to dial a master that
// listens on loopback: they cannot reach it, and will not register.
func (m *Master) checkReach() {
	host, _, _ := net.SplitHostPort(m.dialAddr())
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return
	}
	for _, mem := range m.members {
		if !mem.srv.Local {
			m.log.Warn("a server on another host is told to dial the master on loopback, which it cannot reach: set master.host to an address the other hosts reach",
				"server", mem.srv.ID, "host", mem.srv.Host, "master", m.dialAddr())
			return
		}
	}
}

// track adds a machine for s.
func (m *Master) track(s *topology.Server, added *topology.AddSpec) error {
	mach, err := lifecycle.New(s.ID, policy(s.Restart), nil)
	if err != nil {
		return err
	}
	mem := &member{srv: s, added: added, m: mach}
	m.members = append(m.members, mem)
	m.byID[s.ID] = mem
	return nil
}

func policy(r *topology.Restart) lifecycle.Policy {
	return lifecycle.Policy{
		Restart:        lifecycle.Restart(r.Policy),
		MinUptime:      r.StartSecs.D(),
		BackoffInitial: r.Backoff.Initial.D(),
		BackoffMax:     r.Backoff.Max.D(),
		MaxRestarts:    r.MaxRestarts,
		Window:         r.Window.D(),
	}
}

// apply feeds a cause to a server's machine, publishes the events and
// carries out the action.
func (m *Master) apply(mem *member, c lifecycle.Cause) {
	events, act, err := mem.m.Apply(c)
	if err != nil {
		m.log.Warn("ignored a fact that contradicts the server's state", "server", mem.srv.ID, "err", err)
		return
	}
	for _, e := range events {
		if e.Restarts > mem.last.Restarts {
			m.metrics.Restarted(mem.srv.ID, mem.srv.Type)
		}
		mem.last = e
		if e.From == lifecycle.Backoff && mem.restartTimer != nil {
			mem.restartTimer.Stop()
			mem.restartTimer = nil
		}
		m.log.Log(context.Background(), eventLevel(e), "server "+e.To.String(), "server", e.Server, "from", e.From.String(), "reason", e.Reason)
		se := &admin.ServerEvent{ID: e.Server, Type: mem.srv.Type, From: e.From.String(), To: e.To.String(), Reason: e.Reason, Restarts: e.Restarts}
		if p := mem.proc; p != nil {
			se.Pid = p.shownPid()
		}
		m.journal.Publish(admin.Event{Kind: admin.KindServer, At: e.At, Server: se})
		if m.cfg.OnEvent != nil {
			m.cfg.OnEvent(e)
		}
	}
	if len(events) > 0 {
		// The state this fact leaves the server in, not each step to it:
		// a restart's stop and start come in one Apply, and no router
		// should take the server for stopped in between.
		m.hub.SetState(mem.srv.ID, publishedState(mem))
		m.countStates()
	}
	m.do(mem, act)
	if len(m.held) > 0 && !mem.srv.Frontend {
		m.releaseHeld(false)
	}
	m.checkWaiters()
	m.checkReady()
	m.checkShutdown()
}

// do carries out what the machine asked for.
func (m *Master) do(mem *member, act lifecycle.Action) {
	id := mem.srv.ID
	if !m.acting() {
		// A term that ended while the loop had this to do (a freeze past
		// it): the next leader decides now.
		m.log.Warn("not acting: this master's term as leader has ended", "server", id, "action", act.Kind)
		return
	}
	if act.Kind != lifecycle.NoAction && m.cfg.Term != nil {
		// With its epoch, so that the masters' logs show which leader did
		// what, and when (the HA tests check that one did at a time).
		m.log.Info("leader acting", "server", id, "action", act.Kind.String(), "epoch", m.epoch)
	}
	switch act.Kind {
	case lifecycle.Launch:
		m.launch(mem)
	case lifecycle.Stop:
		p := mem.proc
		if p == nil {
			return
		}
		if p.remote && p.remotePid != 0 {
			m.background(func() { m.remoteKill(mem.srv, "kill -TERM "+strconv.Itoa(p.remotePid)) })
		} else if err := proc.KillGroup(p.pid, p.startTime, syscall.SIGTERM); err != nil && !errors.Is(err, proc.ErrGone) {
			m.log.Warn("could not ask a server to stop; killing it", "server", id, "err", err)
			m.kill(mem)
			return
		}
		if p.stopTimer == nil {
			p.stopTimer = m.after(m.cfg.StopTimeout, timerMsg{id: id, gen: p.gen, kind: stopDeadline})
		}
	case lifecycle.Kill:
		m.kill(mem)
	case lifecycle.ScheduleRestart:
		m.gen++
		mem.restartGen = m.gen
		mem.restartTimer = m.after(act.After, timerMsg{id: id, gen: m.gen, kind: restartDue})
	}
}

func (m *Master) kill(mem *member) {
	p := mem.proc
	if p == nil {
		return
	}
	local := func() {
		if err := proc.KillGroup(p.pid, p.startTime, syscall.SIGKILL); err != nil && !errors.Is(err, proc.ErrGone) {
			m.log.Error("could not kill a server", "server", mem.srv.ID, "pid", p.pid, "err", err)
		}
	}
	if p.remote && p.remotePid != 0 {
		// The server first: once its ssh client is gone, the master takes
		// the server for gone too.
		s, pid := mem.srv, p.remotePid
		m.background(func() {
			m.remoteKill(s, "kill -KILL -"+strconv.Itoa(pid))
			if !p.linkOnly() { // else its watcher sees it go
				local()
			}
		})
		return
	}
	local()
}

// background runs f in a goroutine that Run waits for before it returns,
// for work that must outlive the run loop (a kill over ssh).
func (m *Master) background(f func()) {
	m.bg.Go(f)
}

// launch starts a server's process.
func (m *Master) launch(mem *member) {
	s := mem.srv
	spec, err := m.specOf(mem)
	var p *proc.Process
	if err == nil {
		p, err = proc.Start(spec)
	}
	if err != nil {
		m.apply(mem, lifecycle.StartFailed{Err: err})
		return
	}
	m.gen++
	program, config := m.versionOf(mem)
	mem.proc = &process{gen: m.gen, pid: p.Pid, startTime: p.StartTime, started: p.Started, remote: !s.Local, program: program, config: config}
	if err := m.dir.writeServer(ServerRecord{ID: s.ID, Type: s.Type, Pid: p.Pid, StartTime: p.StartTime, Started: p.Started, Program: program, Config: config}); err != nil {
		m.log.Warn("could not record a server's process; a restarted master will not adopt it", "server", s.ID, "err", err)
	}
	gen := m.gen
	go func() {
		state, _ := p.Wait()
		post(m, m.exits, exitMsg{id: s.ID, gen: gen, exit: exitOf(state)})
	}()
	m.apply(mem, lifecycle.Launched{})
	m.after(m.cfg.RegisterTimeout, timerMsg{id: s.ID, gen: gen, kind: registerDeadline})
}

func exitOf(state *os.ProcessState) lifecycle.Exit {
	if state == nil {
		return lifecycle.Exit{Code: -1}
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return lifecycle.Exit{Signal: signalName(ws.Signal())}
	}
	return lifecycle.Exit{Code: state.ExitCode()}
}

// signalName is SIGKILL for signal 9, as operators write it.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// remoteKill runs a kill command on a server's host over ssh. The local
// ssh client's death would not reach the server: without a terminal, sshd
// does not hang it up.
func (m *Master) remoteKill(s *topology.Server, cmd string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", m.sshArgs(s.Host, cmd)...).CombinedOutput()
	if err != nil {
		m.log.Warn("could not signal a server on its host over ssh", "server", s.ID, "host", s.Host, "command", cmd, "err", err, "output", strings.TrimSpace(string(out)))
	}
}

func (m *Master) after(d time.Duration, msg timerMsg) *time.Timer {
	return time.AfterFunc(d, func() { post(m, m.timers, msg) })
}

func (m *Master) onExit(e exitMsg) {
	mem := m.byID[e.id]
	if mem == nil || mem.proc == nil || mem.proc.gen != e.gen {
		return // an earlier process of the server, already accounted for
	}
	p := mem.proc
	if p.stopTimer != nil {
		p.stopTimer.Stop()
	}
	if p.watch != nil {
		p.watch()
	}
	mem.proc = nil
	if p.remote {
		if p.remotePid != 0 && !p.linkOnly() {
			// The ssh client is gone; the server there may not be.
			s := mem.srv
			m.background(func() { m.remoteKill(s, "kill -KILL -"+strconv.Itoa(p.remotePid)+" 2>/dev/null; true") })
		}
	} else {
		proc.KillRest(p.pid)
	}
	if err := m.dir.removeServer(e.id); err != nil {
		m.log.Warn("could not remove a server's record", "server", e.id, "err", err)
	}
	if mem.srv.Frontend && m.cfg.Topology.GlobalChannel != nil {
		m.background(func() { m.dropChannels(e.id) })
	}
	m.apply(mem, e.exit)
}

func (m *Master) onTimer(t timerMsg) {
	mem := m.byID[t.id]
	if mem == nil {
		return
	}
	switch t.kind {
	case restartDue:
		if t.gen != mem.restartGen {
			return // the timer of a back-off an operator cut short
		}
		mem.restartTimer = nil
		m.apply(mem, lifecycle.RestartDue{})
	case stopDeadline:
		if p := mem.proc; p != nil && p.gen == t.gen {
			m.log.Warn("server did not stop in time; killing its process group", "server", t.id, "timeout", m.cfg.StopTimeout)
			m.kill(mem)
		}
	case registerDeadline:
		p := mem.proc
		if p == nil || p.gen != t.gen || m.registered(t.id) {
			return
		}
		m.apply(mem, lifecycle.HeartbeatMissed{For: m.cfg.RegisterTimeout})
	}
}

// registered reports whether server id's current process has its monitor
// link up.
func (m *Master) registered(id string) bool {
	mb, ok := m.stats()[id]
	mem := m.byID[id]
	return ok && mem != nil && mem.current(mb.Pid)
}

func (m *Master) onMonitor(ev monitor.Event) {
	mem := m.byID[ev.Member.ID]
	if mem == nil {
		return
	}
	switch ev.Kind {
	case monitor.Joined:
		if mem.proc == nil && m.awaiting[mem.srv.ID] {
			m.adoptLinked(mem, ev.Member)
		}
		if p := mem.proc; p != nil && p.remote && p.remotePid == 0 {
			// Its pid there is learnt from its first registration.
			p.remotePid = ev.Member.Pid
		}
		if !mem.current(ev.Member.Pid) {
			m.log.Warn("a process registered as a server the master does not run as that process; ignored",
				"server", ev.Member.ID, "pid", ev.Member.Pid)
			return
		}
		m.apply(mem, lifecycle.Registered{})
		m.settleIfComplete()
	case monitor.Left:
		if !mem.current(ev.Member.Pid) || ev.Fenced {
			return // the link of a process already gone, noticed after its successor started
		}
		if ev.Bye {
			// A server stopping on purpose: its exit follows. If nobody
			// asked it to (a SIGTERM from outside), watch that it does.
			if p := mem.proc; p.stopTimer == nil {
				p.stopTimer = m.after(m.cfg.StopTimeout, timerMsg{id: mem.srv.ID, gen: p.gen, kind: stopDeadline})
			}
			return
		}
		m.apply(mem, lifecycle.MonitorLost{Err: errors.New(ev.Reason)})
	case monitor.Lost:
		if mem.current(ev.Member.Pid) {
			m.apply(mem, lifecycle.HeartbeatMissed{For: time.Since(ev.Member.LastHeartbeat)})
		}
	}
}

// current reports whether pid, as a server registered with it, is the
// server's current process.
func (mem *member) current(pid int) bool {
	p := mem.proc
	if p == nil {
		return false
	}
	if p.remote {
		return p.remotePid == pid
	}
	if p.pid == pid {
		return true
	}
	// A program that runs the server as its child (a wrapper script):
	// the server is in the program's process group.
	g, err := proc.Group(pid)
	return err == nil && g == p.pid
}

// settleIfComplete ends the hub's settle window once every live server has
// registered again: no need to wait out the window.
func (m *Master) settleIfComplete() {
	if len(m.awaiting) > 0 {
		return
	}
	linked := m.stats()
	for _, mem := range m.members {
		if _, ok := linked[mem.srv.ID]; mem.proc != nil && !ok {
			return
		}
	}
	m.hub.Settle()
}

// checkReady notes the first time every server runs: the cluster is up,
// and every server runs its afterStartAll hooks.
func (m *Master) checkReady() {
	if m.isReady || m.stopping {
		return
	}
	// Running and linked: an adopted server runs before its agent is back.
	linked := m.stats()
	for _, mem := range m.members {
		if _, ok := linked[mem.srv.ID]; mem.m.State() != lifecycle.Running || !ok {
			return
		}
	}
	m.isReady = true
	close(m.ready)
	m.journal.Publish(admin.Event{Kind: admin.KindReady})
	m.log.Info("cluster ready", "servers", len(m.members), "took", time.Since(m.started).Round(time.Millisecond))
	for _, mem := range m.members {
		id := mem.srv.ID
		go func() {
			ctx, cancel := context.WithTimeout(m.loopCtx, 30*time.Second)
			defer cancel()
			if err := m.hub.Command(ctx, id, monitor.CommandAfterStartAll, nil); err != nil {
				m.log.Warn("afterStartAll failed", "server", id, "err", err)
			}
		}()
	}
}

// shutdown stops the cluster: frontends first, so that no client request
// comes in while the backends it needs are going, then the backends.
func (m *Master) shutdown(why string) {
	if m.stopping {
		return
	}
	m.stopping = true
	m.log.Info("stopping the cluster", "why", why)
	for _, mem := range m.members {
		if mem.m.State() == lifecycle.Stopping {
			// Taken over by the shutdown: a restart waiting for this stop
			// to finish is dropped.
			m.apply(mem, lifecycle.StopRequested{})
		}
	}
	m.checkShutdown()
}

// checkShutdown moves a shutdown on, after every change: it stops every
// frontend, then once no frontend is left every backend, and ends the run
// loop once nothing is left.
func (m *Master) checkShutdown() {
	if !m.stopping || m.inShutdown {
		return
	}
	m.inShutdown = true // the applies below come back here
	defer func() { m.inShutdown = false }()
	up := func(mem *member) bool { return mem.m.State().Live() || mem.m.State() == lifecycle.Backoff }
	for {
		frontendsUp := slices.ContainsFunc(m.members, func(mem *member) bool { return mem.srv.Frontend && up(mem) })
		acted := false
		for _, mem := range m.members {
			switch mem.m.State() {
			case lifecycle.Backoff:
				// No process to wait for; left there, its timer would
				// launch one.
				m.apply(mem, lifecycle.StopRequested{})
				acted = true
			case lifecycle.Starting, lifecycle.Running:
				if mem.srv.Frontend || !frontendsUp {
					m.apply(mem, lifecycle.StopRequested{})
					acted = true
				}
			}
		}
		if !acted {
			break
		}
	}
	if !slices.ContainsFunc(m.members, up) {
		select {
		case <-m.stoppedCh:
		default:
			close(m.stoppedCh)
		}
	}
}

// eventLevel logs a server going down on its own as a warning.
func eventLevel(e lifecycle.Event) slog.Level {
	switch e.To {
	case lifecycle.Exited, lifecycle.Backoff:
		return slog.LevelWarn
	case lifecycle.Failed:
		return slog.LevelError
	}
	return slog.LevelInfo
}
