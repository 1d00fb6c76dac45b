package connector

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
	"github.com/pomeloctl/pomeloctl/engine/protocol/protobuf"
	"github.com/pomeloctl/pomeloctl/internal/batchconn"
)

// Server is a frontend's listener and everything connected to it.
type Server struct {
	cfg           Config
	handlers      map[string]HandlerFunc
	fallback      HandlerFunc
	asyncOther    AsyncHandlerFunc
	onClose       []func(*Session)
	onBind        []func(*Session)
	sessions      *Sessions
	handshakeOpts *protocol.HandshakeOptions

	ln       net.Listener
	upgrader websocket.Upgrader
	conns    atomic.Int64
	inflight atomic.Int64 // requests and notifies being handled
	draining atomic.Bool  // Shutdown has begun: new requests are refused
	kicking  atomic.Bool  // KickAll waits for the answers in flight: new requests are dropped
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// New makes a frontend server; register handlers, then Start it.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg.withDefaults(), handlers: map[string]HandlerFunc{}, sessions: newSessions()}
	s.handshakeOpts = &protocol.HandshakeOptions{Heartbeat: int(s.cfg.Heartbeat / time.Second), Dict: s.cfg.Dict}
	if s.cfg.useProtobuf() {
		s.handshakeOpts.Protos = protobuf.HandshakeProtos(s.cfg.ClientProtos, s.cfg.ServerProtos)
		s.handshakeOpts.ProtoVersion = protobuf.Version(s.cfg.ClientProtos, s.cfg.ServerProtos)
	}
	s.upgrader = websocket.Upgrader{
		// The sniffing reader becomes the WebSocket's reader (ReadBufferSize 0
		// reuses it) and write buffers are pooled: an idle connection holds
		// neither more than sniffBuffer to read nor anything to write. Game clients
		// connect from any origin.
		ReadBufferSize:  0,
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     func(*http.Request) bool { return true },
	}
	return s
}

// Handle registers h for route, "handler.method" of this server's type or a full
// "type.handler.method". Call it before Start.
func (s *Server) Handle(route string, h HandlerFunc) {
	if strings.Count(route, ".") == 1 {
		route = s.cfg.ServerType + "." + route
	}
	s.handlers[route] = h
}

// HandleOther sets what answers routes no handler here serves: other server
// types' routes, which the cluster forwards. Without it they get an error.
func (s *Server) HandleOther(h HandlerFunc) { s.fallback = h }

// HandleOtherAsync is HandleOther for work that answers later, such as a
// backend's answer to a forwarded request: a client's next requests are
// read and started while it waits, and answers that come together go out
// together. It takes precedence over HandleOther.
func (s *Server) HandleOtherAsync(h AsyncHandlerFunc) { s.asyncOther = h }

// OnClose runs fn for every session that closes.
func (s *Server) OnClose(fn func(*Session)) { s.onClose = append(s.onClose, fn) }

// OnBind runs fn for every session once it is bound to a user (Pomelo's
// session "bind" event), on the goroutine that bound it.
func (s *Server) OnBind(fn func(*Session)) { s.onBind = append(s.onBind, fn) }

// Sessions is the registry of live sessions.
func (s *Server) Sessions() *Sessions { return s.sessions }

// Listen binds the configured address without serving it yet: a port
// that is taken fails here, before anything else of the server starts.
// Start listens itself when Listen was not called.
func (s *Server) Listen() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("frontend %s: listen on %s: %w", s.cfg.ServerID, s.cfg.Addr, err)
	}
	s.ln = ln
	return nil
}

// Start listens on the configured address and serves in the background until
// ctx ends or Close is called.
func (s *Server) Start(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	ln := s.ln
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.accept() }()
	go func() { <-s.ctx.Done(); s.shutdown() }()
	s.cfg.Logger.Info("frontend listening", "addr", ln.Addr().String(), "ws", s.cfg.WebSocket, "tcp", s.cfg.TCP)
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops the frontend gracefully: it stops accepting, refuses new
// requests (code 500, "the server is stopping") while those being handled
// finish and their answers go out, until ctx ends, then kicks every client
// with the reason "server stopping" and waits for the connections to close
// (or, past ctx, closes them).
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	// No new clients first, then no new requests: whoever sees a request
	// refused finds the door already shut.
	_ = s.ln.Close()
	s.draining.Store(true)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.inflight.Load() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	if n := s.inflight.Load(); n > 0 {
		s.cfg.Logger.Warn("stopping with requests still being handled: the drain deadline passed", "requests", n)
	}
	for _, sess := range s.sessions.all() {
		sess.c.kick("server stopping", websocket.CloseGoingAway)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return s.Close()
}

// KickAll kicks every client with reason, the server serving on: once the
// requests being handled have been answered (until ctx ends), and
// dropping what clients send meanwhile rather than refusing it, so that a
// client sees its kick, not an error (a rollout's drain deadline). It
// says how many it kicked.
func (s *Server) KickAll(ctx context.Context, reason string) int {
	s.kicking.Store(true)
	defer s.kicking.Store(false)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.inflight.Load() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	all := s.sessions.all()
	for _, sess := range all {
		sess.c.kick(reason, websocket.CloseGoingAway)
	}
	return len(all)
}

// Close stops accepting, closes every connection and waits for the server's
// goroutines.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	} else if s.ln != nil {
		_ = s.ln.Close() // bound by Listen, never served
	}
	s.wg.Wait()
	return nil
}

func (s *Server) shutdown() {
	_ = s.ln.Close()
	for _, sess := range s.sessions.all() {
		sess.c.close("server stopping")
	}
}

func (s *Server) accept() {
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.cfg.Logger.Warn("accept failed", "err", err, "retry", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if max := s.cfg.MaxConnections; max > 0 && s.conns.Load() >= int64(max) {
			s.cfg.Logger.Warn("client refused: the frontend is at maxConnections", "max", max, "remote", c.RemoteAddr().String())
			_ = c.Close()
			continue
		}
		s.conns.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// sniff returns before the connection is served, so that an idle
			// client's goroutine parks on a shallow stack (see waitShallow).
			if t := s.sniff(c); t != nil {
				newConn(s, t).serve(s.ctx)
			}
		}()
	}
}

// sniffBuffer is the size of the reader that sniffs a connection's first byte
// and then stays its only read buffer (gorilla/websocket reuses one over 256
// bytes): longer upgrade request lines and larger messages are read in
// several calls, and each idle client holds half a KiB less than with 1 KiB.
const sniffBuffer = 512

// sniff tells a WebSocket upgrade (an HTTP GET) from a raw TCP client (whose
// first byte is a handshake package) by the first byte, as Pomelo's hybrid
// connector does, and returns the client's transport; nil when it refused
// the client and closed the connection.
func (s *Server) sniff(c net.Conn) transport {
	_ = c.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	br := bufio.NewReaderSize(c, sniffBuffer)
	first, err := br.Peek(1)
	switch {
	case err != nil:
	case first[0] == 'G' && s.cfg.WebSocket:
		if ws := s.upgrade(c, br); ws != nil {
			return ws
		}
	case first[0] == byte(protocol.Handshake) && s.cfg.TCP:
		return &tcpTransport{c: c, r: br, max: s.cfg.MaxPackageSize}
	default:
		s.cfg.Logger.Info("client refused: neither an accepted WebSocket upgrade nor a Pomelo TCP handshake", "remote", c.RemoteAddr().String(), "first byte", first[0])
	}
	s.conns.Add(-1)
	_ = c.Close()
	return nil
}

// upgrade reads a WebSocket upgrade request from the sniffed connection and
// answers it. It does without net/http's server: an idle client then costs only
// what the WebSocket itself needs, not an HTTP connection's state and buffers.
func (s *Server) upgrade(c net.Conn, br *bufio.Reader) *wsTransport {
	req, err := http.ReadRequest(br)
	if err != nil {
		s.cfg.Logger.Info("client refused: not an HTTP request", "remote", c.RemoteAddr().String(), "err", err)
		return nil
	}
	bc := batchconn.New(c)
	w := &upgradeWriter{conn: bc, header: http.Header{}, brw: bufio.NewReadWriter(br, bufio.NewWriterSize(bc, 64))}
	ws, err := s.upgrader.Upgrade(w, req, nil)
	if err != nil {
		s.cfg.Logger.Info("client refused: WebSocket upgrade failed", "remote", c.RemoteAddr().String(), "err", err)
		return nil
	}
	ws.SetReadLimit(int64(s.cfg.MaxPackageSize + protocol.HeaderLen))
	return &wsTransport{c: ws, br: br, batch: bc, max: s.cfg.MaxPackageSize}
}

// dispatch runs the handler of req's route, turning a panic into an error.
func (s *Server) dispatch(ctx context.Context, sess *Session, req *Request) (res any, err error) {
	h, ok := s.handlers[req.Route]
	if !ok {
		h = s.fallback
	}
	if h == nil {
		return nil, &Error{Code: 404, Msg: fmt.Sprintf("no handler for route %q on %s", req.Route, s.cfg.ServerID)}
	}
	defer func() {
		if r := recover(); r != nil {
			sess.c.logger().Error("handler panicked", "route", req.Route, "panic", r, "stack", string(debug.Stack()))
			res, err = nil, &Error{Code: 500, Msg: "internal error in " + req.Route}
		}
	}()
	return h(ctx, sess, req)
}

// decodeBody turns a request body into JSON: protobuf when the route has a client
// proto and protobuf is on, JSON as it is otherwise.
func (s *Server) decodeBody(route string, body []byte) (json.RawMessage, error) {
	if s.cfg.ClientProtos.Has(route) {
		m, err := s.cfg.ClientProtos.Decode(route, body)
		if err != nil {
			return nil, err
		}
		return json.Marshal(m)
	}
	if len(body) == 0 {
		return nil, nil
	}
	if !json.Valid(body) {
		return nil, errors.New("the body is not JSON")
	}
	return body, nil
}

// encodeBody turns a result into a response or push body.
func (s *Server) encodeBody(route string, v any) ([]byte, error) {
	if route != "" && s.cfg.ServerProtos.Has(route) {
		return s.cfg.ServerProtos.Encode(route, v)
	}
	switch b := v.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		return b, nil
	case []byte:
		return b, nil
	}
	return json.Marshal(v)
}

// isClosedByPeer reports the errors a client's abrupt departure gives.
func isClosedByPeer(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived, websocket.CloseAbnormalClosure)
}
