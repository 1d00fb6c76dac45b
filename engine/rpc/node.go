package rpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Handler answers a call (its result is the reply) or a notify (its result
// is dropped). It runs concurrently with other calls' for a call, and in
// the connection's reader for a notify, so a notify's handler must be quick.
type Handler func(ctx context.Context, r *Request) ([]byte, error)

// Request is a call or a notify from a peer.
type Request struct {
	From  string // the calling server's id
	Route string
	Body  []byte
	conn  *conn
	seq   uint64 // 0 for a notify
	// timeout is what was left of the caller's deadline; the handler's
	// context ends with it, so that work nobody waits for stops.
	timeout time.Duration
}

// Notify sends a notify back to the server that sent r, on the connection
// r came on: it arrives before r's reply.
func (r *Request) Notify(route string, body []byte) error {
	return r.conn.send(&frame{kind: kindNotify, route: route, body: body})
}

// Config configures a Node.
type Config struct {
	// ID is this server's id, told to the peers it dials.
	ID string
	// Addr is the address to listen on (host:port); "" for a server that
	// only dials (a frontend without an RPC port).
	Addr string
	// Resolve returns the RPC address of server id from the cluster's
	// membership; ok false for a server that is not there.
	Resolve func(id string) (addr string, ok bool)
	// Handler serves calls and notifies from peers; nil refuses them.
	Handler Handler
	// DialTimeout bounds connecting to a peer (default 2s).
	DialTimeout time.Duration
	// CallTimeout bounds a call whose context has no deadline (default 10s).
	CallTimeout time.Duration
	Logger      *slog.Logger
}

// Node is one server's end of every connection to its peers.
type Node struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener

	mu      sync.Mutex
	peers   map[string]*conn   // the connection used to reach each peer
	dialing map[string]*dialer // dials in flight, shared by their callers
	all     map[*conn]bool     // every open connection, registered or not
	closed  bool

	draining atomic.Bool  // Drain has begun: calls are refused unrun
	active   atomic.Int64 // calls being handled

	ctx      context.Context // ends when the node closes: handlers' context
	cancel   context.CancelFunc
	ended    context.Context // a context that is over, for handlers that returned
	readers  sync.WaitGroup
	handlers sync.WaitGroup
	calls    chan *incoming // to the idle workers
	idle     atomic.Int32   // how many workers wait on calls
	callers  sync.Pool      // *caller, for Call
}

type dialer struct {
	done chan struct{}
	c    *conn
	err  error
}

// New returns a node; Start listens.
func New(cfg Config) *Node {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	ended, end := context.WithCancel(context.Background())
	end()
	return &Node{cfg: cfg, log: cfg.Logger, peers: map[string]*conn{}, dialing: map[string]*dialer{}, all: map[*conn]bool{}, ctx: ctx, cancel: cancel,
		ended: ended, calls: make(chan *incoming),
		callers: sync.Pool{New: func() any { return &caller{ch: make(chan result, 1)} }}}
}

// Start listens on Config.Addr, if any, and serves peers that dial in.
func (n *Node) Start() error {
	if err := n.Listen(); err != nil || n.ln == nil {
		return err
	}
	ln := n.ln
	n.readers.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return // closed
			}
			n.readers.Go(func() { n.accept(nc) })
		}
	})
	return nil
}

// Listen binds the node's address (none: nothing) without taking calls
// yet: a port that is taken fails here, before the rest of the server
// starts. Start listens itself when Listen was not called.
func (n *Node) Listen() error {
	if n.cfg.Addr == "" || n.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", n.cfg.Addr)
	if err != nil {
		return fmt.Errorf("rpc: listen on %s: %w", n.cfg.Addr, err)
	}
	n.ln = ln
	return nil
}

// Addr is the address the node listens on, or nil.
func (n *Node) Addr() net.Addr {
	if n.ln == nil {
		return nil
	}
	return n.ln.Addr()
}

// accept reads a dialer's hello and serves its connection.
func (n *Node) accept(nc net.Conn) {
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, _, err := readFrame(br, nil, "")
	if err != nil || f.kind != kindHello || f.route == "" {
		n.log.Warn("rpc: dropped a connection that did not say hello", "remote", nc.RemoteAddr().String(), "err", err)
		nc.Close()
		return
	}
	_ = nc.SetReadDeadline(time.Time{})
	c := newConn(n, f.route, nc)
	if !n.register(c, false) {
		c.closeWith("this server is stopping")
		return
	}
	c.read(br)
}

// register records a new connection; the first to a peer becomes the way
// to reach it (a dialer's own, dialled, wins over one accepted at the same
// time only if there is none yet).
func (n *Node) register(c *conn, dialed bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.all[c] = true
	if n.peers[c.peer] == nil || dialed {
		n.peers[c.peer] = c
	}
	return true
}

// unroute stops using c to reach its peer; Close still closes it.
func (n *Node) unroute(c *conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.peers[c.peer] == c {
		delete(n.peers, c.peer)
	}
}

// drop forgets a closed connection.
func (n *Node) drop(c *conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.all, c)
	if n.peers[c.peer] == c {
		delete(n.peers, c.peer)
	}
}

// Call calls route on server peer and returns its reply. The call fails at
// once if the peer is not in the cluster or cannot be reached, and with a
// *RemoteError if its handler failed.
func (n *Node) Call(ctx context.Context, peer, route string, body []byte) ([]byte, error) {
	w := n.callers.Get().(*caller)
	if _, ok := ctx.Deadline(); !ok {
		w.start(n.cfg.CallTimeout)
	}
	var res []byte
	c, err := n.conn(ctx, w.expired, peer)
	if err == nil {
		res, err = c.call(ctx, w, route, body)
	}
	w.stop()
	if w.ch != nil {
		n.callers.Put(w)
	}
	return res, err
}

// caller is what a Call waits with: the channel its reply comes on and,
// when its context has no deadline, a timer for CallTimeout (cheaper than
// a context with a timeout: four allocations, and a registration with the
// caller's context). Callers are reused, through Node.callers: a channel
// and a timer made for every call were five allocations of its eight.
type caller struct {
	ch       chan result // nil once the call gave up: the reply may yet come on it
	timer    *time.Timer
	deadline time.Time        // the timer's
	expired  <-chan time.Time // the timer's channel while it runs; nil otherwise
}

func (w *caller) start(d time.Duration) {
	w.deadline = time.Now().Add(d)
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	w.expired = w.timer.C
}

// stop stops the timer: since Go 1.23, no stale tick is received after.
func (w *caller) stop() {
	if w.expired != nil {
		w.timer.Stop()
		w.expired = nil
	}
}

// Go sends a call as Call does but returns at once: done runs with the
// reply, or the error, exactly once — on the connection's reading goroutine,
// or on a timer's when the call's deadline passes (the context's, else
// CallTimeout), so it must not block. The context's deadline bounds the
// call; its cancellation does not end it. Like Call and Notify, Go has
// copied body when it returns: the caller may reuse it.
func (n *Node) Go(ctx context.Context, peer, route string, body []byte, done func([]byte, error)) {
	d := n.cfg.CallTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	c, err := n.conn(ctx, nil, peer)
	if err != nil {
		done(nil, err)
		return
	}
	c.goCall(route, body, d, done)
}

// Notify sends route to server peer without waiting for an answer.
func (n *Node) Notify(ctx context.Context, peer, route string, body []byte) error {
	c, err := n.conn(ctx, nil, peer)
	if err != nil {
		return err
	}
	return c.send(&frame{kind: kindNotify, route: route, body: body})
}

// Forget lets go of a server that left the cluster: calls waiting on it
// fail at once rather than at their deadline, and the next call to it
// dials again. Its connections stay open for it to close (see conn.forget).
func (n *Node) Forget(peer string) {
	n.mu.Lock()
	var conns []*conn
	for c := range n.all {
		if c.peer == peer {
			conns = append(conns, c)
		}
	}
	n.mu.Unlock()
	for _, c := range conns {
		c.forget()
	}
}

// conn returns the connection to peer, dialling it if there is none,
// unless ctx ends or expired fires first. Concurrent callers share one dial.
func (n *Node) conn(ctx context.Context, expired <-chan time.Time, peer string) (*conn, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, ErrClosed
	}
	if c := n.peers[peer]; c != nil && !c.failed() {
		n.mu.Unlock()
		return c, nil
	}
	d := n.dialing[peer]
	if d == nil {
		d = &dialer{done: make(chan struct{})}
		n.dialing[peer] = d
		n.readers.Go(func() { n.dial(peer, d) })
	}
	n.mu.Unlock()
	select {
	case <-d.done:
		return d.c, d.err
	case <-ctx.Done():
		return nil, fmt.Errorf("connect to %s: %w", peer, ctx.Err())
	case <-expired:
		return nil, fmt.Errorf("connect to %s: %w", peer, context.DeadlineExceeded)
	}
}

func (n *Node) dial(peer string, d *dialer) {
	defer func() {
		n.mu.Lock()
		delete(n.dialing, peer)
		n.mu.Unlock()
		close(d.done)
	}()
	addr, ok := "", false
	if n.cfg.Resolve != nil {
		addr, ok = n.cfg.Resolve(peer)
	}
	if !ok {
		d.err = fmt.Errorf("%w: no server %s in the cluster", ErrPeerGone, peer)
		return
	}
	nc, err := net.DialTimeout("tcp", addr, n.cfg.DialTimeout)
	if err != nil {
		d.err = fmt.Errorf("%w: connect to %s at %s: %w", ErrPeerGone, peer, addr, err)
		return
	}
	c := newConn(n, peer, nc)
	if err := c.send(&frame{kind: kindHello, route: n.cfg.ID}); err != nil {
		d.err = err
		c.closeWith("the hello failed")
		return
	}
	if !n.register(c, true) {
		c.closeWith("this server is stopping")
		d.err = ErrClosed
		return
	}
	d.c = c
	n.readers.Go(func() { c.read(bufio.NewReader(nc)) })
}

// serve runs the handler for a request and, for a call, sends the reply.
func (n *Node) serve(in *incoming) {
	var res []byte
	err := errNoHandler
	if n.cfg.Handler != nil {
		res, err = n.safely(in)
	}
	r := &in.Request
	if r.seq == 0 {
		if err != nil {
			n.log.Debug("rpc: notify failed", "from", r.From, "route", r.Route, "err", err)
		}
		return
	}
	f := frame{kind: kindReply, seq: r.seq, body: res}
	var coded Coded
	switch {
	case errors.As(err, &coded):
		code, msg := coded.Coded()
		f.status, f.body = statusCoded, append(binary.AppendUvarint(nil, uint64(max(code, 0))), msg...)
	case err != nil:
		f.status, f.body = statusFailed, []byte(err.Error())
	}
	_ = r.conn.send(&f) // a closed connection has failed the caller already
}

var errNoHandler = errors.New("this server takes no RPC")

// safely runs the handler, turning a panic into an error.
func (n *Node) safely(in *incoming) (res []byte, err error) {
	r := &in.Request
	defer func() {
		if p := recover(); p != nil {
			n.log.Error("rpc: handler panicked", "from", r.From, "route", r.Route, "panic", p)
			err = fmt.Errorf("the handler of %s failed", r.Route)
		}
	}()
	ctx := n.ctx
	if r.timeout > 0 {
		ctx = in.ctx.start(n, r.timeout)
		defer in.ctx.end()
	}
	return n.cfg.Handler(ctx, r)
}

// Drain makes the node refuse new calls without running them (the callers
// get ErrStopping, and may call again once the server is back) and waits,
// until ctx ends, for the calls being handled to be answered. Notifies are
// still served, and this node's own calls still go out: what it handles
// may need them. Close ends the rest.
func (n *Node) Drain(ctx context.Context) error {
	n.draining.Store(true)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for n.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("rpc: %d calls still being handled: %w", n.active.Load(), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// Close stops listening, closes every connection (failing the calls
// waiting on them) and waits for the readers and handlers.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	conns := make([]*conn, 0, len(n.all))
	for c := range n.all {
		conns = append(conns, c)
	}
	n.mu.Unlock()
	if n.ln != nil {
		n.ln.Close()
	}
	n.cancel()
	// The answers a drain waited for are queued, not yet written.
	deadline := time.Now().Add(time.Second)
	for _, c := range conns {
		c.flush(deadline)
	}
	for _, c := range conns {
		c.closeWith("this server is stopping")
	}
	n.readers.Wait()
	n.handlers.Wait()
	return nil
}
