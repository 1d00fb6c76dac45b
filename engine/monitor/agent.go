package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pomeloctl/pomeloctl/engine/proc"
)

const (
	// maxMasterMessage bounds what an agent reads from the master. A welcome
	// lists the whole cluster (about 200 bytes a server), so this leaves
	// room for tens of thousands of servers.
	maxMasterMessage = 8 << 20
	// byeGrace is how long a stopping agent waits for commands still running
	// to answer before it says bye: the command that asked it to stop, most
	// often, whose answer the master is waiting for.
	byeGrace = time.Second
	// maxErrorText bounds a command's error text in a result, well under
	// what the master reads in one message.
	maxErrorText = 4 << 10
)

// WakeSignal tells a server's agent that a master is listening now: the
// agent redials at once instead of waiting out its back-off (see
// Agent.Wake). A new master sends it to the process group of every server it
// adopts, whose agent has been failing to reach the dead one and may be
// waiting up to Backoff.Max (5s) before it tries again: without it, adoption
// takes as long as the longest of those waits, not as long as a
// registration. SIGWINCH because a process that does not ask for it ignores
// it, so the rest of the server's group (a wrapper script that runs the
// server, a helper it started) is not hurt, and a server, which has no
// terminal, gets it from nowhere else.
const WakeSignal = syscall.SIGWINCH

// Backoff is the wait between attempts to reach the master: Initial after
// the first failure, doubling up to Max, back to Initial once registered or
// woken (Agent.Wake). Each wait is drawn between half and all of its step,
// so that the servers of a cluster whose master restarts do not all knock
// at the same instant.
type Backoff struct {
	Initial time.Duration // default 100ms
	Max     time.Duration // default 5s
}

// next is the step after d.
func (b Backoff) next(d time.Duration) time.Duration {
	return min(2*d, b.Max)
}

// jitter draws the actual wait for step d.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// AgentConfig configures an Agent.
type AgentConfig struct {
	// MasterURLs returns the masters' monitor addresses
	// (ws://host:port/monitor), tried in turn in a round: with master HA,
	// every master's, and only the leader takes the registration. The
	// agent waits out its back-off only after a round, so that it finds a
	// newly elected leader within one back-off step. It is called before
	// every round.
	MasterURLs func() []string
	// Register is what the server tells the master about itself. A zero Pid
	// (and StartTime) means this process.
	Register RegisterInfo
	// Stats returns the stats for each heartbeat (see ProcessStats). It is
	// called from the heartbeat loop: if it hangs, heartbeats stop and the
	// master reports the server Lost, which is the truth. Nil sends empty
	// stats.
	Stats func() Stats
	// OnMembers is called with the full membership (this server included,
	// sorted by id) after it changes, from one goroutine, never two calls at
	// once. Changes that come while it runs are folded into the next call,
	// so a slow OnMembers sees the newest view, not every step to it.
	OnMembers func(all []Member)
	// OnCommand runs a command from the master; its error is the answer.
	// Each runs in its own goroutine; ctx ends when the link does. It must
	// return once ctx is done, and must not wait for Run to return (a
	// "stop" should start the stop and return). Nil answers every command
	// with an error.
	OnCommand func(ctx context.Context, name string, args json.RawMessage) error
	Backoff   Backoff
	// HeartbeatInterval is the time between heartbeats (default 1s). It
	// must be well under the master's HeartbeatTimeout.
	HeartbeatInterval time.Duration
	// MasterTimeout is how long the master may stay silent — no message,
	// no ping — before the agent takes the link for dead and redials
	// (default 5s). Masters ping every second.
	MasterTimeout time.Duration
	// Dialer dials the master; nil uses one with a 5s handshake timeout and
	// no proxy.
	Dialer *websocket.Dialer
	// Logger receives the agent's logs (default slog.Default()).
	Logger *slog.Logger
}

// Agent is a server's end of the monitor link. See Run.
type Agent struct {
	cfg     AgentConfig
	log     *slog.Logger
	dialer  *websocket.Dialer
	running atomic.Bool
	epoch   atomic.Uint64 // the highest epoch seen from any master

	mu     sync.Mutex
	view   map[string]Member
	sorted []Member          // view sorted by id, shared by Members' callers; nil when the view changed
	gen    uint64            // counts changes of the view
	master string            // id of the master the agent is registered with; "" when none
	states map[string]string // servers' supervision states, as the master last said

	changed  chan struct{}  // 1-buffered: the view changed since OnMembers last ran
	wakeup   chan struct{}  // 1-buffered: see Wake
	commands sync.WaitGroup // OnCommand calls still running
}

// NewAgent returns an agent for the server cfg.Register describes.
func NewAgent(cfg AgentConfig) *Agent {
	if cfg.Backoff.Initial <= 0 {
		cfg.Backoff.Initial = 100 * time.Millisecond
	}
	if cfg.Backoff.Max <= 0 {
		cfg.Backoff.Max = 5 * time.Second
	}
	cfg.Backoff.Max = max(cfg.Backoff.Max, cfg.Backoff.Initial)
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.MasterTimeout <= 0 {
		cfg.MasterTimeout = 5 * time.Second
	}
	if cfg.Register.Pid == 0 {
		cfg.Register.Pid = os.Getpid()
		if cfg.Register.StartTime == 0 {
			// Not on Linux there is no start time to read; pid 0 start time
			// 0 still names the process well enough for one master.
			cfg.Register.StartTime, _ = proc.StartTime(cfg.Register.Pid)
		}
	}
	dialer := cfg.Dialer
	if dialer == nil {
		// No proxy: the monitor link runs between the cluster's own hosts,
		// and an HTTP_PROXY meant for the outside world must not catch it.
		dialer = &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("server", cfg.Register.ID)
	return &Agent{
		cfg:     cfg,
		log:     log,
		dialer:  dialer,
		view:    map[string]Member{},
		changed: make(chan struct{}, 1),
		wakeup:  make(chan struct{}, 1),
	}
}

// Wake tells the agent that a master is listening now: if it is waiting out
// its back-off between attempts, it redials at once, and its back-off starts
// over. A wake that comes while it dials or is still linked to a master it
// has not yet found dead is kept for the next wait, so that none is lost to
// that race. WakeSignal, sent to the process while Run runs, does the same;
// a master elected by HA may have it called too.
func (a *Agent) Wake() {
	select {
	case a.wakeup <- struct{}{}:
	default:
	}
}

// Members returns the agent's current view of the cluster, sorted by id
// (shared: do not modify it). It
// survives outages of the master: servers keep routing to each other while
// no master is there. The next master's welcome adds to it while that
// master settles (its own list is still filling up), and its full list
// then replaces it, dropping servers that died in the meantime.
func (a *Agent) Members() []Member {
	ms, _ := a.View()
	return ms
}

// View is Members and a number that changes whenever the view does, for
// callers that keep something derived from it. The slice is shared by every
// caller until the view changes: it must not be modified.
func (a *Agent) View() ([]Member, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sorted == nil {
		// Servers route every forwarded request by it: sorting a fresh copy
		// each time was a sixth of a busy connector's time.
		a.sorted = make([]Member, 0, len(a.view))
		for _, m := range a.view {
			a.sorted = append(a.sorted, m)
		}
		sortMembers(a.sorted)
	}
	return a.sorted, a.gen
}

// Master returns the id of the master the agent is registered with, or ""
// while it has none.
func (a *Agent) Master() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.master
}

// Epoch returns the highest master epoch the agent has seen.
func (a *Agent) Epoch() uint64 { return a.epoch.Load() }

// Run keeps the server linked to the master until ctx ends: it dials,
// registers, heartbeats, follows membership and runs commands; when the link
// drops it redials with back-off, for as long as it takes, and at once when
// woken (Wake, or WakeSignal sent to the process). When ctx ends it
// says bye (with ctx's cause as the reason, if there is one), waits for its
// goroutines and returns nil.
//
// It returns a *RefusedError when the master refuses the server for a
// reason that retrying cannot fix — a wrong or missing token — so that the
// process can exit non-zero and say why.
func (a *Agent) Run(ctx context.Context) error {
	if a.cfg.MasterURLs == nil {
		return errors.New("monitor agent: AgentConfig.MasterURLs is not set")
	}
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("monitor agent: Run is already running")
	}
	defer a.running.Store(false)

	notifyDone := make(chan struct{})
	var notifier sync.WaitGroup
	if a.cfg.OnMembers != nil {
		notifier.Go(func() { a.notify(notifyDone) })
	}
	defer func() {
		close(notifyDone)
		notifier.Wait()
		a.commands.Wait()
	}()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, WakeSignal)
	defer signal.Stop(sigs)

	var out outage
	step := a.cfg.Backoff.Initial
	for {
		url := ""
		for _, url = range a.cfg.MasterURLs() {
			err := a.session(ctx, url, func(w *welcomeMsg, members int) {
				step = a.cfg.Backoff.Initial
				// This registration answers any wake that came before it;
				// kept, it would cut the first wait of the next outage short.
				drain(a.wakeup)
				drain(sigs)
				out.over(a.log, url, w, members)
			})
			a.setMaster("")
			if ctx.Err() != nil {
				return nil
			}
			var refused *RefusedError
			if errors.As(err, &refused) && refused.Fatal() {
				a.log.Error("monitor: the master refused this server; giving up", "url", url, "code", refused.Code, "reason", refused.Reason)
				return err
			}
			out.failed(a.log, url, err)
		}
		t := time.NewTimer(jitter(step))
		woken := false
		select {
		case <-t.C:
		case <-a.wakeup:
			woken = true
		case <-sigs:
			woken = true
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		if woken {
			t.Stop()
			a.log.Debug("monitor: woken: a master is listening; redialling now", "url", url)
			// Should this attempt still fail, a master is there: the
			// next ones are worth making soon too.
			step = a.cfg.Backoff.Initial
			continue
		}
		step = a.cfg.Backoff.next(step)
	}
}

// drain empties a 1-buffered notification channel.
func drain[T any](ch chan T) {
	select {
	case <-ch:
	default:
	}
}

// outage keeps the log to one warning per outage rather than one per
// attempt (a master that is down for a minute would otherwise write hundreds
// of lines from every server): a warning when it starts, another only if
// the kind of failure changes (say, from "no answer" to "fenced"), debug
// lines for the attempts, and one line when it is over.
type outage struct {
	since    time.Time
	attempts int
	kind     string
}

func (o *outage) failed(log *slog.Logger, url string, err error) {
	o.attempts++
	kind := failureKind(err)
	switch {
	case o.since.IsZero():
		o.since, o.kind = time.Now(), kind
		log.Warn("monitor: no link to the master; retrying with back-off until there is one", "url", url, "err", err)
	case kind != o.kind:
		o.kind = kind
		log.Warn("monitor: still no link to the master", "url", url, "for", time.Since(o.since).Round(time.Millisecond), "attempts", o.attempts, "err", err)
	default:
		log.Debug("monitor: attempt to reach the master failed", "url", url, "attempt", o.attempts, "err", err)
	}
}

func (o *outage) over(log *slog.Logger, url string, w *welcomeMsg, members int) {
	attrs := []any{"master", w.Master, "url", url, "epoch", w.Epoch, "members", members}
	if !o.since.IsZero() {
		attrs = append(attrs, "after", time.Since(o.since).Round(time.Millisecond), "attempts", o.attempts)
	}
	log.Info("monitor: registered with the master", attrs...)
	*o = outage{}
}

func failureKind(err error) string {
	var refused *RefusedError
	var fenced *fencedError
	switch {
	case errors.As(err, &refused):
		return "refused: " + refused.Code
	case errors.As(err, &fenced):
		return "fenced"
	}
	return "link"
}

// fencedError is the agent refusing a master whose epoch is lower than one
// it has seen: a deposed master that does not know it yet.
type fencedError struct {
	Master      string
	Epoch, Seen uint64
}

func (e *fencedError) Error() string {
	return fmt.Sprintf("refused master %s: its epoch %d is lower than epoch %d this server has already seen, so it has been replaced by another master",
		e.Master, e.Epoch, e.Seen)
}

// session is one link to the master, from dial to close. It calls
// registered once the master has welcomed the server.
func (a *Agent) session(ctx context.Context, url string, registered func(w *welcomeMsg, members int)) error {
	dialCtx, cancelDial := context.WithTimeout(ctx, a.cfg.MasterTimeout)
	conn, resp, err := a.dialer.DialContext(dialCtx, url, nil)
	cancelDial()
	if err != nil {
		if resp != nil {
			return fmt.Errorf("dial %s: the master answered %s: %w", url, resp.Status, err)
		}
		return fmt.Errorf("dial %s: %w", url, err)
	}
	defer conn.Close()
	conn.SetReadLimit(maxMasterMessage)
	w := &wsWriter{conn: conn}

	// Until the session's own goroutines run, a stop must still cut the
	// wait for the master's answer short.
	stopEarly := context.AfterFunc(ctx, func() { conn.Close() })
	defer stopEarly()

	reg := registerMsg{RegisterInfo: a.cfg.Register, Version: ProtocolVersion}
	if err := w.send(frame{Register: &reg}); err != nil {
		return fmt.Errorf("send register to %s: %w", url, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(a.cfg.MasterTimeout))
	f, err := readFrame(conn)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("waiting for the master at %s to answer the register: %w", url, linkError(err))
	}
	switch {
	case f.Refused != nil:
		return &RefusedError{URL: url, Code: f.Refused.Code, Reason: f.Refused.Reason}
	case f.Welcome == nil:
		return fmt.Errorf("the master at %s answered the register with neither welcome nor refused", url)
	}
	if err := a.fence(w, f.Welcome.Master, f.Welcome.Epoch); err != nil {
		return err
	}
	if !stopEarly() {
		// ctx ended just now and the connection is closing under us.
		return nil
	}
	master := f.Welcome.Master
	a.setMaster(master)
	// The view before the states: each wakes OnMembers, whose first call
	// is then the welcome's members, never an empty view with states.
	n := a.setView(f.Welcome.Members, !f.Welcome.Partial)
	a.setStates(f.Welcome.States, true)
	registered(f.Welcome, n)

	// From here on three goroutines share the link: this one reads, one
	// heartbeats, one waits for the end. Writes go through w's lock.
	sessCtx, endSession := context.WithCancel(ctx)
	defer endSession()
	var wg sync.WaitGroup
	defer wg.Wait()
	var cmds sync.WaitGroup // this session's commands, for the bye grace
	wg.Go(func() { a.heartbeat(sessCtx, w) })
	wg.Go(func() {
		<-sessCtx.Done()
		if ctx.Err() != nil {
			a.bye(w, &cmds, byeReason(ctx))
		}
		// Unblocks the read below, whatever ended the session.
		conn.Close()
	})

	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(a.cfg.MasterTimeout))
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		_ = conn.SetReadDeadline(time.Now().Add(a.cfg.MasterTimeout))
		f, err := readFrame(conn)
		if err != nil {
			endSession()
			if ctx.Err() != nil {
				return nil
			}
			return linkError(err)
		}
		switch {
		case f.Members != nil:
			if err := a.fence(w, master, f.Members.Epoch); err != nil {
				endSession()
				return err
			}
			a.applyMembers(f.Members)
		case f.States != nil:
			if err := a.fence(w, master, f.States.Epoch); err != nil {
				endSession()
				return err
			}
			a.setStates(f.States.States, false)
		case f.Command != nil:
			c := *f.Command
			cmds.Add(1)
			a.commands.Go(func() {
				defer cmds.Done()
				a.command(sessCtx, w, c)
			})
		default:
			// A message from a newer master: skipping it keeps new masters
			// working with old servers.
			a.log.Debug("monitor: skipped a message from the master")
		}
	}
}

// fence refuses a master whose epoch is below the highest seen, saying bye
// with that epoch so that the master learns it is stale. It raises the
// highest seen otherwise.
func (a *Agent) fence(w *wsWriter, master string, epoch uint64) error {
	for {
		seen := a.epoch.Load()
		if epoch < seen {
			err := &fencedError{Master: master, Epoch: epoch, Seen: seen}
			_ = w.send(frame{Bye: &byeMsg{Reason: err.Error(), Epoch: seen}})
			w.close(websocket.ClosePolicyViolation, "stale master epoch")
			return err
		}
		if epoch == seen || a.epoch.CompareAndSwap(seen, epoch) {
			return nil
		}
	}
}

// byeReason is ctx's cause in words, or "stopping".
func byeReason(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) && !errors.Is(c, context.DeadlineExceeded) {
		return c.Error()
	}
	return "stopping"
}

// bye ends the link on purpose: commands still running get byeGrace to
// answer, then the master is told why the server goes.
func (a *Agent) bye(w *wsWriter, cmds *sync.WaitGroup, reason string) {
	finished := make(chan struct{})
	go func() {
		cmds.Wait()
		close(finished)
	}()
	t := time.NewTimer(byeGrace)
	select {
	case <-finished:
	case <-t.C:
		// The command goroutine is counted in a.commands too; Run waits
		// for it. Only its answer is lost.
		a.log.Warn("monitor: a command was still running when the server stopped; its answer is lost")
	}
	t.Stop()
	if err := w.send(frame{Bye: &byeMsg{Reason: reason}}); err != nil {
		a.log.Debug("monitor: could not say bye to the master", "err", err)
	}
	w.close(websocket.CloseNormalClosure, "bye")
}

func (a *Agent) heartbeat(ctx context.Context, w *wsWriter) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		var s Stats
		if a.cfg.Stats != nil {
			s = a.cfg.Stats()
		}
		if ctx.Err() != nil {
			return
		}
		if err := w.send(frame{Heartbeat: &heartbeatMsg{Stats: s}}); err != nil {
			// The reader sees the broken link too and ends the session.
			return
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (a *Agent) command(ctx context.Context, w *wsWriter, c commandMsg) {
	var err error
	if a.cfg.OnCommand == nil {
		err = errors.New("this server takes no commands")
	} else {
		err = a.cfg.OnCommand(ctx, c.Name, c.Args)
	}
	r := resultMsg{ID: c.ID, OK: err == nil}
	if err != nil {
		// Bounded: the master reads at most 64 KiB a message.
		r.Error = truncate(err.Error(), maxErrorText)
		a.log.Warn("monitor: command from the master failed", "command", c.Name, "err", err)
	} else {
		a.log.Info("monitor: ran a command from the master", "command", c.Name)
	}
	if err := w.send(frame{Result: &r}); err != nil {
		a.log.Warn("monitor: could not answer a command; the link to the master is gone", "command", c.Name, "err", err)
	}
}

func (a *Agent) setMaster(id string) {
	a.mu.Lock()
	a.master = id
	a.mu.Unlock()
}

// setView takes a membership list as the whole view (full), or adds it to
// the view (a partial welcome from a settling master), and returns the
// view's size.
func (a *Agent) setView(ms []Member, full bool) int {
	a.mu.Lock()
	view := make(map[string]Member, len(ms))
	if !full {
		maps.Copy(view, a.view)
	}
	for _, m := range ms {
		view[m.ID] = m
	}
	same := maps.Equal(view, a.view)
	a.view = view
	if !same {
		a.sorted = nil
		a.gen++
	}
	a.mu.Unlock()
	if !same {
		a.wake()
	}
	return len(view)
}

// State is server id's supervision state as the master last said it
// ("running", "backoff", "stopped"…; see lifecycle.State), or "" when it
// has said nothing of it.
func (a *Agent) State(id string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.states[id]
}

// setStates takes the master's supervision states: all of them (a
// welcome), or the ones that changed. A change counts as a change of the
// view, for those that derive routing from it.
func (a *Agent) setStates(states map[string]string, all bool) {
	a.mu.Lock()
	if all {
		a.states = maps.Clone(states)
	} else {
		if a.states == nil {
			a.states = map[string]string{}
		}
		maps.Copy(a.states, states)
	}
	a.gen++
	a.mu.Unlock()
	a.wake()
}

// applyMembers applies a change: a full list replaces the view; otherwise
// leaves go first, then joins (an upsert, for a member whose entry changed).
func (a *Agent) applyMembers(m *membersMsg) {
	if m.Full {
		a.setView(m.Joined, true)
		return
	}
	a.mu.Lock()
	for _, id := range m.Left {
		delete(a.view, id)
	}
	for _, j := range m.Joined {
		a.view[j.ID] = j
	}
	a.sorted = nil
	a.gen++
	a.mu.Unlock()
	a.wake()
}

func (a *Agent) wake() {
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// notify calls OnMembers after each change until done closes.
func (a *Agent) notify(done <-chan struct{}) {
	for {
		select {
		case <-a.changed:
			a.cfg.OnMembers(a.Members())
		case <-done:
			return
		}
	}
}

// wsWriter serialises writes on a connection, which takes one writer at a
// time.
type wsWriter struct {
	mu   sync.Mutex
	conn *websocket.Conn
}

func (w *wsWriter) send(f frame) error {
	b := encode(f)
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return w.conn.WriteMessage(websocket.TextMessage, b)
}

// close sends a close frame; the caller closes the connection.
func (w *wsWriter) close(code int, text string) {
	_ = w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

func readFrame(conn *websocket.Conn) (frame, error) {
	_, data, err := conn.ReadMessage()
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, fmt.Errorf("the master sent a message that is not valid JSON: %w", err)
	}
	return f, nil
}

// linkError words a broken link for an operator.
func linkError(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		// Gorilla's text already carries the master's reason.
		return fmt.Errorf("the master closed the link: %w", err)
	}
	if isTimeout(err) {
		return fmt.Errorf("the master went silent: %w", err)
	}
	return fmt.Errorf("the link to the master broke: %w", err)
}
