package master

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/globalchannel"
	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/metrics"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Defaults of Config's durations.
const (
	// DefaultStopTimeout is how long a server has to stop gracefully before
	// its process group is killed: the server's own drain deadline (10s)
	// and a margin.
	DefaultStopTimeout = 15 * time.Second
	// DefaultRegisterTimeout is how long a launched or adopted server has
	// to register its monitor link before it is taken for hung and killed.
	DefaultRegisterTimeout = 30 * time.Second
)

// Config configures a Master.
type Config struct {
	// Topology is the cluster; the master adds the servers added at runtime
	// to it.
	Topology *topology.Topology
	// RunDir is the run directory (default DefaultRunDir).
	RunDir RunDir
	// Executable is the pomeloctl program that runs servers without a
	// command (default: this program).
	Executable string
	// Machine tells local hosts from remote ones (default this machine).
	Machine topology.Machine
	Logger  *slog.Logger
	// OnEvent sees every state change of every server, on the run loop: it
	// must not block.
	OnEvent func(lifecycle.Event)
	// Modules are the game's admin modules, beside the built-in ones.
	Modules         []admin.Module
	StopTimeout     time.Duration
	RegisterTimeout time.Duration
	// HeartbeatTimeout is how long a server may go without a heartbeat
	// before it is taken for hung (default: the monitor hub's 3s).
	HeartbeatTimeout time.Duration

	// ID and Addr are this master's, when it is not the topology's
	// master: a standby of master HA (see RunHA).
	ID, Addr string
	// Term, with master HA, is this master's term as leader: its epoch is
	// the master's, the master acts only while the term is valid, and when
	// Lost is closed the master stops acting and returns from Run, every
	// server left running for the next leader to adopt.
	Term *ha.Term
	// OnLead, with master HA, is given each Master this master runs, as
	// it is elected, before it starts (RunHA).
	OnLead func(*Master)
	// beforeDown runs when an operator brings the cluster down, before any
	// server is stopped (RunHA: so that no standby takes over to start it
	// again).
	beforeDown func() error
	// promote hands the lead to a standby, and masters lists the masters
	// (RunHA).
	promote func(id string) error
	masters func() []admin.MasterStatus
	// awaitLinks is a leader taking over a running cluster (RunHA, not
	// `up`): a server no record in the run directory names may run all
	// the same, started by a leader on another host, so it is given the
	// settle window to register before it is launched (see awaitLinks in
	// supervise.go).
	awaitLinks bool
	// share copies a file of the run directory to ZooKeeper, for a next
	// leader on another host (RunHA; see sharedFiles).
	share func(name string, data []byte) error
	// metrics are this master process's, when RunHA serves them for all
	// its terms and its time as a standby; nil: Run serves its own, if
	// the master has an httpPort.
	metrics *metrics.Master
}

// Master runs one cluster. See the package comment.
type Master struct {
	cfg       Config
	log       *slog.Logger
	dir       RunDir
	addr      string // the admin address it listens on
	hub       *monitor.Hub
	journal   *admin.Journal  // the events the admin API streams
	metrics   *metrics.Master // nil without an httpPort: nothing counted
	gcMu      sync.Mutex
	gc        globalchannel.Store // the master's link to global channels; nil until used
	tokens    map[string]string
	epoch     uint64
	started   time.Time
	startTime uint64        // this process's, in clock ticks since boot
	ready     chan struct{} // closed once every server has been running at once

	// Messages to the run loop.
	reqs   chan func()
	exits  chan exitMsg
	timers chan timerMsg
	quit   chan struct{} // closed when the run loop ends

	// Owned by the run loop.
	members    []*member
	byID       map[string]*member
	gen        uint64
	waiters    []*waiter
	isReady    bool
	stopping   bool
	inShutdown bool
	stoppedCh  chan struct{} // closed when every server is down after a shutdown
	// held are the frontends a starting cluster launches once its
	// backends have registered (see releaseHeld).
	held []*member
	// awaiting are the servers a new leader gives the settle window to
	// register before it launches them (Config.awaitLinks).
	awaiting map[string]bool
	bg       sync.WaitGroup // work that outlives the run loop (see background)
	loopCtx  context.Context
}

// self is this master's id and admin address: cfg's, else the topology's
// master's.
func (cfg Config) self() (id, addr string) {
	first := cfg.Topology.Masters()[0]
	return cmp.Or(cfg.ID, first.ID), cmp.Or(cfg.Addr, first.Addr)
}

// New checks cfg and returns a master that Run starts.
func New(cfg Config) (*Master, error) {
	t := cfg.Topology
	if t == nil {
		return nil, errors.New("master: no topology")
	}
	if cfg.RunDir == "" {
		cfg.RunDir = DefaultRunDir(t)
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("master: find the pomeloctl program to run servers with: %w", err)
		}
		cfg.Executable = exe
	}
	if cfg.Machine == nil {
		cfg.Machine = topology.ThisMachine()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.RegisterTimeout <= 0 {
		cfg.RegisterTimeout = DefaultRegisterTimeout
	}
	users := adminUsers(t)
	cfg.ID, cfg.Addr = cfg.self()
	addr := cfg.Addr
	if err := admin.CheckExposure(addr, users); err != nil {
		return nil, err
	}
	return &Master{
		cfg:       cfg,
		log:       cfg.Logger.With("master", cfg.ID),
		dir:       cfg.RunDir,
		addr:      addr,
		ready:     make(chan struct{}),
		reqs:      make(chan func()),
		exits:     make(chan exitMsg, 16),
		timers:    make(chan timerMsg, 16),
		quit:      make(chan struct{}),
		byID:      map[string]*member{},
		awaiting:  map[string]bool{},
		stoppedCh: make(chan struct{}),
	}, nil
}

// Ready is closed once every server of the cluster has been running at once.
func (m *Master) Ready() <-chan struct{} { return m.ready }

// Addr is the admin address.
func (m *Master) Addr() string { return m.addr }

// RunDir is the run directory.
func (m *Master) RunDir() RunDir { return m.dir }

// RunningError is `up` on a cluster whose master already runs.
type RunningError struct {
	Record MasterRecord
	Dir    RunDir
}

func (e *RunningError) Error() string {
	return fmt.Sprintf("the cluster is already running: master %s (pid %d) on %s since %s, run directory %s; `pomeloctl ls` shows it, `pomeloctl down` stops it",
		e.Record.ID, e.Record.Pid, e.Record.Addr, e.Record.Started.Format(time.DateTime), e.Dir)
}

// Run runs the cluster until ctx ends or an operator brings it down, then
// stops every server (frontends first) and returns. Servers that an earlier
// master of this run directory left running are adopted, not launched
// again.
func (m *Master) Run(ctx context.Context) error {
	t := m.cfg.Topology
	prev, err := m.dir.Master()
	switch {
	case err == nil && prev.Alive() && prev.Pid != os.Getpid() && m.cfg.Term == nil:
		// With HA, ZooKeeper's election says who leads: a recorded master
		// that is alive has lost its term (frozen, or cut off).
		return &RunningError{Record: prev, Dir: m.dir}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return fmt.Errorf("the master cannot listen on %s (master.host and master.port): %w", m.addr, err)
	}
	m.metrics = m.cfg.metrics
	if m.metrics == nil {
		var stop func()
		if m.metrics, stop, err = serveMetrics(m.cfg, m.log); err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	m.started = time.Now()
	m.epoch = prev.Epoch + 1
	if m.cfg.Term != nil {
		m.epoch = m.cfg.Term.Epoch // above every earlier term's, and prev's
	}
	if m.tokens, err = m.dir.tokens(typeNames(t)); err != nil {
		ln.Close()
		return err
	}
	m.shareFile("tokens.json")
	self := MasterRecord{ID: m.cfg.ID, Pid: os.Getpid(), Addr: m.addr, Epoch: m.epoch, Topology: t.File,
		Profiles: t.Profiles, PortOffset: t.PortOffset, Started: m.started}
	self.StartTime, _ = proc.StartTime(self.Pid)
	m.startTime = self.StartTime
	if err := m.dir.write("master.json", self, 0o644); err != nil {
		ln.Close()
		return err
	}
	adopt, err := m.adoptable()
	if err != nil {
		ln.Close()
		return err
	}
	// The loop's context outlives ctx: when ctx ends the loop still has
	// the cluster to stop.
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	m.loopCtx = loopCtx
	if len(adopt) > 0 && (prev.Topology != t.File || !slices.Equal(prev.Profiles, t.Profiles)) {
		m.log.Warn("adopting servers that an earlier master started from another topology or other profiles: they run that configuration until restarted",
			"then", prev.Topology, "thenProfiles", prev.Profiles, "now", t.File, "nowProfiles", t.Profiles)
	}
	settle := time.Duration(-1)
	if len(adopt) > 0 || m.cfg.awaitLinks {
		settle = settleWindow
	}
	m.hub = monitor.NewHub(monitor.HubConfig{
		MasterID:         m.cfg.ID,
		Epoch:            m.epoch,
		Tokens:           m.checkToken,
		HeartbeatTimeout: m.cfg.HeartbeatTimeout,
		Settle:           settle,
		Logger:           m.log,
	})
	// The commands it answers carry its epoch, as its actions do (see do).
	m.journal = admin.NewJournal(m.epoch, journalKeep, journalBuffer)
	api := admin.NewServer(adminUsers(t), counted{m}, m.log.With("epoch", m.epoch), m.cfg.Modules...)
	api.ServeEvents(m.journal)
	api.Handle("/monitor", m.hub)
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()

	_, events := m.hub.Subscribe(loopCtx)
	m.log.Info("master started", "addr", m.addr, "epoch", m.epoch, "runDir", string(m.dir), "servers", len(t.AllServers()), "adopting", len(adopt))
	m.metrics.Leading(true, m.epoch)
	defer m.metrics.Leading(false, m.epoch)
	if len(adopt) > 0 || m.cfg.awaitLinks {
		m.metrics.FailedOver()
	}
	if err := m.begin(adopt); err != nil {
		m.log.Error("could not start the cluster", "err", err)
	}
	m.countStates()
	go m.publishStats(loopCtx)
	abdicated := m.loop(ctx, events)

	close(m.quit)
	cancel()
	m.hub.Close()
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer shutCancel()
	// The event streams end before the admin API shuts down, which waits
	// for them; a reader told the master stopped finds no record of it.
	if abdicated {
		// Every server runs on, and the next leader adopts them: the run
		// directory stays as it is, and nothing here waits for them.
		m.journal.Close("this master is no longer the leader")
		_ = srv.Shutdown(shutCtx)
		m.closeChannels()
		m.log.Warn("no longer the leader: stopped acting; the servers run on for the next leader", "why", m.cfg.Term.Err())
		return nil
	}
	// The record goes before the admin API: a client that finds no master
	// answering must find no master recorded either.
	if err := m.dir.clear(); err != nil {
		m.log.Warn("could not clear the run directory", "err", err)
	}
	m.journal.Close("the master stopped")
	_ = srv.Shutdown(shutCtx)
	m.bg.Wait()
	m.closeChannels()
	m.log.Info("master stopped")
	return nil
}

// shareFile copies a file of the run directory to ZooKeeper for a next
// leader on another host (master HA), once this master changed it.
func (m *Master) shareFile(name string) {
	if m.cfg.share == nil {
		return
	}
	data, err := os.ReadFile(filepath.Join(string(m.dir), name))
	if err == nil {
		err = m.cfg.share(name, data)
	}
	if err != nil {
		m.log.Warn("could not share a file of the run directory in ZooKeeper: a next leader on another host will not know what it holds", "file", name, "err", err)
	}
}

// The event stream: server events kept for readers that resume, and how
// many a reader may leave unread before it is dropped.
const (
	journalKeep   = 4096
	journalBuffer = 1024
)

// publishStats streams every server and the master once a second while
// anyone listens: what changes without an event (cpu, rss, connections,
// requests).
func (m *Master) publishStats(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !m.journal.Listening() {
			continue
		}
		servers, err := m.Servers(ctx)
		if err != nil {
			continue
		}
		info, err := m.Info(ctx)
		if err != nil {
			continue
		}
		m.journal.Publish(admin.Event{Kind: admin.KindStats, Servers: servers, Master: &info})
	}
}

// acting reports whether this master may act on the cluster: always
// without HA; with it, only while its term holds (after a freeze past
// the term, never: the next leader may be acting).
func (m *Master) acting() bool { return m.cfg.Term == nil || m.cfg.Term.Valid() }

// lost is closed when this master's term ends; never without HA.
func (m *Master) lost() <-chan struct{} {
	if m.cfg.Term == nil {
		return nil
	}
	return m.cfg.Term.Lost()
}

// loop is the run loop: every decision about every server is taken here.
// It returns when the cluster has stopped, or, with HA, as soon as the
// master's term ends (abdicated), whatever it was doing.
func (m *Master) loop(ctx context.Context, events <-chan monitor.Event) (abdicated bool) {
	done := ctx.Done()
	for {
		select {
		case <-m.lost():
			return true
		case <-done:
			done = nil
			m.shutdown("the master was interrupted")
		case f := <-m.reqs:
			f()
		case e := <-m.exits:
			m.onExit(e)
		case t := <-m.timers:
			m.onTimer(t)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			m.onMonitor(ev)
		case <-m.stoppedCh:
			return false
		}
	}
}

// post hands a message to the run loop from another goroutine, unless the
// loop has ended.
func post[T any](m *Master, ch chan T, v T) {
	select {
	case ch <- v:
	case <-m.quit:
	}
}

// exec runs f on the run loop and waits for it.
func (m *Master) exec(ctx context.Context, f func()) error {
	if !m.acting() {
		return admin.Errorf(http.StatusServiceUnavailable, "this master is no longer the leader")
	}
	done := make(chan struct{})
	select {
	case m.reqs <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-m.quit:
		return admin.Errorf(http.StatusServiceUnavailable, "the master is stopping")
	}
	<-done
	return nil
}

// waiter is an admin request waiting for the cluster to reach a state.
type waiter struct {
	ok   func() bool
	done chan struct{}
}

// waitFor waits until ok (run on the loop) holds, or ctx ends.
func (m *Master) waitFor(ctx context.Context, ok func() bool) error {
	w := &waiter{ok: ok, done: make(chan struct{})}
	if err := m.exec(ctx, func() {
		if ok() {
			close(w.done)
			return
		}
		m.waiters = append(m.waiters, w)
	}); err != nil {
		return err
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.quit:
		return nil
	}
}

// checkWaiters releases the waiters whose condition holds; on the loop,
// after every change.
func (m *Master) checkWaiters() {
	keep := m.waiters[:0]
	for _, w := range m.waiters {
		if w.ok() {
			close(w.done)
		} else {
			keep = append(keep, w)
		}
	}
	clear(m.waiters[len(keep):])
	m.waiters = keep
}

func adminUsers(t *topology.Topology) []admin.User {
	var users []admin.User
	for _, u := range t.Master.Users {
		users = append(users, admin.User{Name: u.Username, Password: u.Password.Value, Level: u.Level})
	}
	return users
}

func typeNames(t *topology.Topology) []string {
	var names []string
	for _, st := range t.Types {
		names = append(names, st.Name)
	}
	return names
}

// dialAddr is the admin address as servers dial it: a master listening on
// every interface is reached on loopback.
func (m *Master) dialAddr() string { return DialAddr(m.addr) }

// DialAddr is a master's admin address as a client dials it: a master
// listening on every interface is reached on loopback.
func DialAddr(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// masterAddrs are the admin addresses a server dials, comma-separated,
// this master's first: with HA, every master's, so that a server finds
// the next leader when this one goes (a standby refuses it until then).
func (m *Master) masterAddrs() string {
	addrs := []string{m.dialAddr()}
	t := m.cfg.Topology
	if t.HA == nil {
		return addrs[0]
	}
	for _, ma := range t.Masters() {
		if a := DialAddr(ma.Addr); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return strings.Join(addrs, ",")
}

// tokenOf is server s's monitor token: its own, its type's, or the one
// generated for its type.
func (m *Master) tokenOf(s *topology.Server) string {
	if s.Token.Value != "" {
		return s.Token.Value
	}
	return m.tokens[s.Type]
}

// checkToken answers the hub: the token server id must present. It reads
// the topology, which the loop changes when servers are added, so it asks
// the loop.
func (m *Master) checkToken(id, typ string) (string, bool) {
	var tok string
	var ok bool
	err := m.exec(m.loopCtx, func() {
		if mem := m.byID[id]; mem != nil && mem.srv.Type == typ {
			tok, ok = m.tokenOf(mem.srv), true
		}
	})
	return tok, ok && err == nil
}
