package monitor

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// pingInterval is how often the hub pings each agent. Agents take a
	// silent master for dead after their MasterTimeout (5s by default), so
	// this must stay well below it.
	pingInterval = time.Second
	// writeTimeout bounds every write on either side: a peer that does not
	// read for this long is treated as gone rather than allowed to stall us.
	writeTimeout = 5 * time.Second
	// outboxSize is how many messages may wait for one agent. Membership
	// changes are small and rare; an agent this far behind is stuck, and is
	// better dropped (it reconnects and gets a fresh welcome) than allowed
	// to hold the hub's memory.
	outboxSize = 1024
	// maxAgentMessage bounds what the hub reads from an agent: registers,
	// heartbeats, results and byes are all small.
	maxAgentMessage = 64 << 10
)

// ErrLinkClosed is a server's link closing before it answered a command.
var ErrLinkClosed = errors.New("the server's monitor link closed before it answered")

// HubConfig configures a Hub.
type HubConfig struct {
	// MasterID is this master's server id, sent in every welcome.
	MasterID string
	// Epoch is this master's fencing epoch (from the HA election; 0 without
	// HA). Agents that have seen a higher epoch refuse this master.
	Epoch uint64
	// Tokens returns the token server id of the given type must present
	// (its type's, or its own). A server with no token (ok false, or an
	// empty token) is refused: a master that takes any server that knows
	// its address would take an impostor, and one that is not part of its
	// cluster has no token.
	Tokens func(id, serverType string) (token string, ok bool)
	// HeartbeatTimeout is how long a member may go without a heartbeat
	// before it is reported Lost (default 3s, three missed heartbeats).
	HeartbeatTimeout time.Duration
	// RegisterTimeout is how long a new connection has to send its register
	// message (default 5s).
	RegisterTimeout time.Duration
	// Settle is how long a new hub's membership is taken as incomplete
	// (default 7s, longer than an agent's default maximum back-off of 5s, so
	// that every server that outlived the previous master has had its turn
	// to register). A master that restarts, or a standby that takes over,
	// starts with no members while the servers are all still there; if its
	// first welcomes were taken as the whole truth, every server would drop
	// its peers from its routing table until they re-registered. So while it
	// settles, welcomes are marked partial and agents keep the peers they
	// knew; when it ends (or the master calls Settle, having heard from
	// every server it expects) a full list goes out and agents drop anyone
	// not on it — servers that died while there was no master. Negative
	// means none: the hub's membership is complete from the start.
	Settle time.Duration
	// Logger receives the hub's logs (default slog.Default()).
	Logger *slog.Logger
}

// Hub is the master's end of the monitor link: it serves the WebSocket
// endpoint agents dial, keeps the membership, and tells every agent of every
// change to it.
//
// Lock order: Hub.mu, then a subscriber's mu. Everything about membership
// happens under Hub.mu — including queuing the messages that announce it and
// the events that report it — so every agent and every subscriber sees the
// changes in the one order they happened.
type Hub struct {
	cfg      HubConfig
	log      *slog.Logger
	upgrader websocket.Upgrader
	done     chan struct{} // closed by Close

	mu          sync.Mutex
	links       map[string]*link             // registered members by id
	conns       map[*websocket.Conn]struct{} // every open connection, registered or not, for Close
	subs        map[*subscriber]struct{}
	nextCommand uint64
	closed      bool
	settled     bool              // see HubConfig.Settle
	stale       bool              // an agent has fenced this master off: it has a successor
	settleTimer *time.Timer       // ends the settle window; nil without one
	states      map[string]string // supervision states, see SetState

	// wg counts every goroutine the hub runs or serves in: connection
	// handlers, their writers, and subscribers' pumps. Close waits for it.
	wg sync.WaitGroup

	// heartbeats counts heartbeats handled, for the fan-in benchmark.
	heartbeats atomic.Uint64
}

// link is one registered agent's connection.
type link struct {
	conn   *websocket.Conn
	remote string
	out    chan []byte   // encoded frames for the writer; see Hub.sendLocked
	done   chan struct{} // closed when the link is closed
	once   sync.Once

	// Guarded by Hub.mu.
	member  Member
	pending map[uint64]chan resultMsg // commands awaiting their result; nil once the link has left
	why     string                    // set when the hub closes the link: the reason it gives
}

// close ends the link at once; the reader and writer notice and finish.
func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.conn.Close()
	})
}

// closeWith tells the agent why before it ends the link, so that the agent's
// log says more than "connection reset". Never call it holding Hub.mu: the
// write may wait up to a second for the writer.
func (l *link) closeWith(code int, text string) {
	_ = l.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	l.close()
}

// NewHub returns a hub ready to serve agents.
func NewHub(cfg HubConfig) *Hub {
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = 3 * time.Second
	}
	if cfg.RegisterTimeout <= 0 {
		cfg.RegisterTimeout = 5 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	h := &Hub{
		cfg:   cfg,
		log:   log,
		done:  make(chan struct{}),
		links: map[string]*link{},
		conns: map[*websocket.Conn]struct{}{},
		subs:  map[*subscriber]struct{}{},

		states: map[string]string{},
	}
	if cfg.Settle == 0 {
		h.cfg.Settle = 7 * time.Second
	}
	if h.cfg.Settle < 0 {
		h.settled = true
	} else {
		// Under the lock: a very short window could end before the
		// assignment otherwise, and Settle reads the timer.
		h.mu.Lock()
		h.settleTimer = time.AfterFunc(h.cfg.Settle, h.Settle)
		h.mu.Unlock()
	}
	return h
}

// SetState records server id's supervision state (a lifecycle state's
// name) and tells every agent when it changed, so that routers can tell a
// server worth waiting for (restarting) from one that will not come back
// by itself (stopped, exited, failed).
func (h *Hub) SetState(id, state string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.states[id] == state {
		return
	}
	h.states[id] = state
	h.broadcastLocked(nil, encode(frame{States: &statesMsg{Epoch: h.cfg.Epoch, States: map[string]string{id: state}}}))
}

// States returns a copy of the supervision states SetState recorded.
func (h *Hub) States() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.states)
}

// Settle ends the hub's settle window (see HubConfig.Settle) now rather
// than when it times out: every agent gets the full membership and drops
// the peers that are not on it. A master calls it once every server it
// expects has registered. Calling it again does nothing.
func (h *Hub) Settle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.settled || h.closed {
		return
	}
	h.settled = true
	if h.settleTimer != nil {
		h.settleTimer.Stop()
	}
	members := h.routingLocked()
	h.log.Info("monitor: membership settled", "members", len(members))
	h.broadcastLocked(nil, encode(frame{Members: &membersMsg{Epoch: h.cfg.Epoch, Full: true, Joined: members}}))
}

// ServeHTTP is the monitor endpoint (/monitor on the admin address): it
// upgrades to a WebSocket, takes the agent's registration, and serves the
// link until it closes. It returns when the link is over.
//
// A registration is refused, with a refused message saying why, when its
// token is missing or wrong, when it is malformed or speaks another protocol
// version, or when its id belongs to a live link of another process (another
// pid or start time): the first process keeps its place, since the master
// cannot tell which is real and the one it has is known to work. If that
// first process is in fact dead, its link is Lost within HeartbeatTimeout
// and the newcomer, which keeps trying, gets in then. The same process
// registering again (same pid and start time) replaces its old link at once:
// the old one is dead and the hub has not noticed yet.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "the master is shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// Upgrade has answered the request with the error already.
		h.log.Warn("monitor: not a WebSocket request", "remote", r.RemoteAddr, "err", err)
		return
	}
	defer conn.Close()
	if !h.track(conn) {
		refuse(conn, RefusedClosing, "the master is shutting down")
		return
	}
	defer h.untrack(conn)
	conn.SetReadLimit(maxAgentMessage)

	reg, err := h.readRegister(conn)
	if err != nil {
		h.log.Warn("monitor: dropped a connection that did not register", "remote", r.RemoteAddr, "err", err)
		refuse(conn, RefusedInvalid, err.Error())
		return
	}
	if code, reason := h.check(reg); code != "" {
		h.log.Warn("monitor: refused a server", "id", reg.ID, "type", reg.Type, "remote", r.RemoteAddr, "code", code, "reason", reason)
		refuse(conn, code, reason)
		return
	}
	l := &link{
		conn:    conn,
		remote:  r.RemoteAddr,
		out:     make(chan []byte, outboxSize),
		done:    make(chan struct{}),
		pending: map[uint64]chan resultMsg{},
	}
	old, code, reason := h.join(l, reg.RegisterInfo)
	if code != "" {
		h.log.Warn("monitor: refused a server", "id", reg.ID, "type", reg.Type, "remote", r.RemoteAddr, "code", code, "reason", reason)
		refuse(conn, code, reason)
		return
	}
	if old != nil {
		old.closeWith(websocket.CloseGoingAway, old.why)
	}
	kind, reason, bye := h.read(l)
	h.leave(l, kind, reason, bye)
}

// track notes an open connection so that Close can end it even before it
// registers (rather than wait out its RegisterTimeout). It reports false if
// the hub is closed.
func (h *Hub) track(conn *websocket.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[conn] = struct{}{}
	return true
}

func (h *Hub) untrack(conn *websocket.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, conn)
}

// readRegister reads the first message, which must be a register.
func (h *Hub) readRegister(conn *websocket.Conn) (registerMsg, error) {
	_ = conn.SetReadDeadline(time.Now().Add(h.cfg.RegisterTimeout))
	_, data, err := conn.ReadMessage()
	if err != nil {
		if isTimeout(err) {
			return registerMsg{}, fmt.Errorf("no register message within %s", h.cfg.RegisterTimeout)
		}
		return registerMsg{}, fmt.Errorf("reading its register message: %w", err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return registerMsg{}, fmt.Errorf("its first message is not valid JSON: %w", err)
	}
	if f.Register == nil {
		return registerMsg{}, errors.New("its first message is not a register message")
	}
	return *f.Register, nil
}

// check returns a refusal code and reason for a registration the hub will
// not take, or "" for one it will. The reason never holds a token.
func (h *Hub) check(reg registerMsg) (code, reason string) {
	if reg.Version != ProtocolVersion {
		return RefusedVersion, fmt.Sprintf("the server speaks monitor protocol version %d; this master speaks %d", reg.Version, ProtocolVersion)
	}
	if reg.ID == "" {
		return RefusedInvalid, "the register message has no server id"
	}
	if reg.Type == "" {
		return RefusedInvalid, fmt.Sprintf("the register message of server %s has no server type", reg.ID)
	}
	var want string
	ok := false
	if h.cfg.Tokens != nil {
		want, ok = h.cfg.Tokens(reg.ID, reg.Type)
	}
	switch {
	case !ok || want == "":
		return RefusedToken, fmt.Sprintf("this master has no token for server %s of type %q: it is not a server of this cluster", reg.ID, reg.Type)
	case reg.Token == "":
		return RefusedToken, fmt.Sprintf("server %s presented no token for server type %q", reg.ID, reg.Type)
	case subtle.ConstantTimeCompare([]byte(reg.Token), []byte(want)) != 1:
		return RefusedToken, fmt.Sprintf("server %s presented the wrong token for server type %q", reg.ID, reg.Type)
	}
	return "", ""
}

// refuse tells an agent why it is turned away, and closes the connection.
func refuse(conn *websocket.Conn, code, reason string) {
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = conn.WriteMessage(websocket.TextMessage, encode(frame{Refused: &refusedMsg{Code: code, Reason: reason}}))
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, truncate(reason, 120)), time.Now().Add(time.Second))
	conn.Close()
}

// truncate keeps a close frame's text under the 123 bytes a control frame
// allows.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// join makes l the link of the server reg describes, welcomes it and tells
// the others; or returns why it cannot. It returns the link l replaces, for
// the caller to close once the lock is released.
func (h *Hub) join(l *link, reg RegisterInfo) (old *link, code, reason string) {
	now := time.Now()
	m := reg.member()
	m.ConnectedSince = now
	m.Remote = l.remote

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, RefusedClosing, "the master is shutting down"
	}
	old = h.links[m.ID]
	if old != nil {
		if old.member.Pid != m.Pid || old.member.StartTime != m.StartTime {
			return nil, RefusedDuplicate, fmt.Sprintf("server %s is already connected from %s as pid %d; another process with that id is refused while that link is alive",
				m.ID, old.remote, old.member.Pid)
		}
		old.why = "replaced by a newer link from the same process"
	}
	l.member = m
	h.links[m.ID] = l

	h.sendLocked(l, encode(frame{Welcome: &welcomeMsg{
		Master: h.cfg.MasterID, Epoch: h.cfg.Epoch, Members: h.routingLocked(), Partial: !h.settled, States: maps.Clone(h.states),
	}}))
	if old == nil || old.member.routing() != m.routing() {
		// An upsert: agents replace an entry they have with the same id.
		h.broadcastLocked(l, encode(frame{Members: &membersMsg{Epoch: h.cfg.Epoch, Joined: []Member{m.routing()}}}))
	}

	h.wg.Add(1)
	go h.write(l)

	if old != nil {
		// The same process, reconnected: to the cluster nothing happened.
		h.log.Info("monitor: server reconnected", "id", m.ID, "remote", l.remote)
		return old, "", ""
	}
	joined := slog.LevelInfo
	if h.stale {
		// Every join is followed by a fenced leave: one error said it all.
		joined = slog.LevelDebug
	}
	h.log.Log(context.Background(), joined, "monitor: server joined", "id", m.ID, "type", m.Type, "pid", m.Pid, "remote", l.remote)
	h.publishLocked(Event{Kind: Joined, Member: m, Time: now})
	return nil, "", ""
}

// read serves a registered link until it ends, and says how it ended.
func (h *Hub) read(l *link) (kind EventKind, reason string, bye *byeMsg) {
	timeout := h.cfg.HeartbeatTimeout
	_ = l.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, data, err := l.conn.ReadMessage()
		if err != nil {
			if isTimeout(err) {
				return Lost, fmt.Sprintf("no heartbeat for %s", timeout), nil
			}
			return Left, "its link closed without a bye: " + closeReason(err), nil
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			return Left, fmt.Sprintf("it sent a message that is not valid JSON (%v)", err), nil
		}
		switch {
		case f.Heartbeat != nil:
			// Only heartbeats prove the server is alive: a server whose
			// heartbeat loop is stuck is hung, whatever else it still sends.
			_ = l.conn.SetReadDeadline(time.Now().Add(timeout))
			h.heartbeat(l, f.Heartbeat.Stats)
		case f.Result != nil:
			h.result(l, *f.Result)
		case f.Bye != nil:
			return Left, f.Bye.Reason, f.Bye
		case f.Register != nil:
			return Left, "it sent a second register message on one link", nil
		default:
			// A message from a newer agent: skipping it keeps old masters
			// working with new servers.
			h.log.Debug("monitor: skipped an unknown message", "id", l.member.ID, "message", truncate(string(data), 200))
		}
	}
}

// isTimeout reports a read deadline passing. Gorilla replaces the net
// package's timeout error with its own (which does not wrap it), so the test
// is net.Error's Timeout rather than errors.Is(os.ErrDeadlineExceeded).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// closeReason words a read error for an operator.
func closeReason(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Text != "" {
			return ce.Text
		}
		return fmt.Sprintf("close code %d", ce.Code)
	}
	return err.Error()
}

func (h *Hub) heartbeat(l *link, s Stats) {
	h.heartbeats.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.links[l.member.ID] != l {
		return
	}
	l.member.Stats = s
	l.member.LastHeartbeat = time.Now()
	h.publishLocked(Event{Kind: Heartbeat, Member: l.member, Time: l.member.LastHeartbeat})
}

func (h *Hub) result(l *link, r resultMsg) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := l.pending[r.ID]; ok {
		delete(l.pending, r.ID)
		ch <- r // buffered for exactly this one result
	}
}

// leave removes a link whose reader has finished, tells the others, and
// reports it.
func (h *Hub) leave(l *link, kind EventKind, reason string, bye *byeMsg) {
	h.mu.Lock()
	if l.why != "" {
		// The hub closed the link itself; that is the real reason.
		reason = l.why
	}
	m := l.member
	current := h.links[m.ID] == l
	l.pending = nil
	report := current && !h.closed
	if current {
		delete(h.links, m.ID)
	}
	ev := Event{Kind: kind, Member: m, Time: time.Now(), Reason: reason}
	firstFence := false
	if report {
		ev.Bye = bye != nil
		ev.Fenced = bye != nil && bye.Epoch > h.cfg.Epoch
		firstFence = ev.Fenced && !h.stale
		h.stale = h.stale || ev.Fenced
		h.broadcastLocked(l, encode(frame{Members: &membersMsg{Epoch: h.cfg.Epoch, Left: []string{m.ID}}}))
		h.publishLocked(ev)
	}
	h.mu.Unlock()

	switch {
	case !report:
		// Replaced, or the hub is closing: the cluster has not changed.
		h.log.Debug("monitor: link closed", "id", m.ID, "remote", l.remote, "reason", reason)
	case ev.Fenced && !firstFence:
		// Every server retries until this master steps down: say it once.
		h.log.Debug("monitor: fenced off again", "id", m.ID, "seen", bye.Epoch)
	case ev.Fenced:
		h.log.Error("monitor: a server refused this master as stale; another master has been elected since",
			"id", m.ID, "epoch", h.cfg.Epoch, "seen", bye.Epoch, "reason", reason)
	case kind == Lost:
		h.log.Warn("monitor: server lost (hung?)", "id", m.ID, "type", m.Type, "pid", m.Pid, "reason", reason)
	case ev.Bye:
		h.log.Info("monitor: server left", "id", m.ID, "type", m.Type, "reason", reason)
	default:
		h.log.Warn("monitor: server disconnected", "id", m.ID, "type", m.Type, "pid", m.Pid, "reason", reason)
	}
	if kind == Lost {
		l.closeWith(websocket.CloseGoingAway, truncate(reason, 120))
	}
	l.close()
}

// write sends l's queued frames and keeps it pinged until the link closes.
func (h *Hub) write(l *link) {
	defer h.wg.Done()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		var err error
		select {
		case b := <-l.out:
			_ = l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			err = l.conn.WriteMessage(websocket.TextMessage, b)
		case <-ping.C:
			err = l.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
		case <-l.done:
			return
		}
		if err != nil {
			h.mu.Lock()
			if l.why == "" {
				l.why = "writing to it failed: " + err.Error()
			}
			h.mu.Unlock()
			l.close()
			return
		}
	}
}

// sendLocked queues b for l without waiting: the hub holds its lock and must
// not wait for any one agent. An agent whose queue is full is dropped.
func (h *Hub) sendLocked(l *link, b []byte) {
	select {
	case l.out <- b:
	default:
		if l.why == "" {
			l.why = fmt.Sprintf("it fell %d messages behind reading from the master", outboxSize)
		}
		l.close()
	}
}

// broadcastLocked queues b for every link but except.
func (h *Hub) broadcastLocked(except *link, b []byte) {
	for _, o := range h.links {
		if o != except {
			h.sendLocked(o, b)
		}
	}
}

func (h *Hub) publishLocked(e Event) {
	for s := range h.subs {
		s.push(e)
	}
}

// Members returns the registered servers, sorted by id.
func (h *Hub) Members() []Member {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.membersLocked()
}

func (h *Hub) membersLocked() []Member {
	ms := make([]Member, 0, len(h.links))
	for _, l := range h.links {
		ms = append(ms, l.member)
	}
	sortMembers(ms)
	return ms
}

// routingLocked is the membership as agents see it.
func (h *Hub) routingLocked() []Member {
	ms := make([]Member, 0, len(h.links))
	for _, l := range h.links {
		ms = append(ms, l.member.routing())
	}
	sortMembers(ms)
	return ms
}

func sortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
}

// Subscribe returns the current members and a channel of every event after
// them, with no gap and no overlap between the two: a supervisor can start
// from the snapshot and follow the stream. The channel is closed when ctx
// ends or the hub closes. Events are never dropped except older heartbeats of
// a member while a newer one waits, so a subscriber that reads slowly costs
// memory only in proportion to the cluster's size and churn.
func (h *Hub) Subscribe(ctx context.Context) ([]Member, <-chan Event) {
	s := newSubscriber()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.out)
		return nil, s.out
	}
	h.subs[s] = struct{}{}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s.pump(ctx, h.done)
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}()
	return h.membersLocked(), s.out
}

// Command sends a command to a server's agent and waits for its answer: nil
// when the server's OnCommand succeeded, a *CommandError with its words when
// it failed. A server with no live link fails at once with ErrUnknownServer;
// a link that closes first fails with ErrLinkClosed. Args are sent as JSON
// (nil for none).
func (h *Hub) Command(ctx context.Context, id, name string, args any) error {
	var raw json.RawMessage
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("command %q for server %s: encoding its arguments: %w", name, id, err)
		}
		raw = b
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return fmt.Errorf("command %q for server %s: %w", name, id, ErrClosed)
	}
	l := h.links[id]
	if l == nil {
		h.mu.Unlock()
		return fmt.Errorf("command %q for server %s: %w", name, id, ErrUnknownServer)
	}
	h.nextCommand++
	cid := h.nextCommand
	ch := make(chan resultMsg, 1)
	l.pending[cid] = ch
	h.sendLocked(l, encode(frame{Command: &commandMsg{ID: cid, Name: name, Args: raw}}))
	h.mu.Unlock()

	answer := func(r resultMsg) error {
		if r.OK {
			return nil
		}
		return &CommandError{Server: id, Command: name, Message: r.Error}
	}
	select {
	case r := <-ch:
		return answer(r)
	case <-l.done:
		// The result may have come in just before the link closed.
		select {
		case r := <-ch:
			return answer(r)
		default:
			return fmt.Errorf("command %q for server %s: %w", name, id, ErrLinkClosed)
		}
	case <-ctx.Done():
		h.mu.Lock()
		delete(l.pending, cid)
		h.mu.Unlock()
		return fmt.Errorf("command %q for server %s: gave up waiting for its answer: %w", name, id, context.Cause(ctx))
	}
}

// Close drops every link (the agents will redial, and find the next master),
// ends every subscription, and waits for the hub's goroutines to finish.
// Shutting down the HTTP server is not enough: it does not track the
// connections ServeHTTP took over. No Left events are reported: the servers
// did not go anywhere.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.wg.Wait()
		return
	}
	h.closed = true
	close(h.done)
	if h.settleTimer != nil {
		h.settleTimer.Stop()
	}
	links := make([]*link, 0, len(h.links))
	for _, l := range h.links {
		l.why = "the master is shutting down"
		links = append(links, l)
	}
	conns := make([]*websocket.Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, l := range links {
		l.closeWith(websocket.CloseGoingAway, "the master is shutting down")
	}
	for _, c := range conns {
		// Not yet registered (or already closed): no one to explain to.
		c.Close()
	}
	h.wg.Wait()
}
