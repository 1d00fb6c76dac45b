package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
)

type connState int

const (
	stHandshake connState = iota // waiting for the client's handshake
	stWaitAck                    // handshake answered, waiting for its ack
	stWorking
)

// conn is one client's connection: its reader runs in serve, its writes go
// through w.
type conn struct {
	srv   *Server
	t     transport
	w     *writer
	sess  *Session
	state connState // only the reader goroutine touches it

	closeOnce sync.Once
}

func newConn(srv *Server, t transport) *conn {
	c := &conn{srv: srv, t: t, w: newWriter(t, srv.cfg.WriteQueue, srv.cfg.FlushInterval)}
	c.sess = &Session{srv: srv, c: c}
	srv.sessions.add(c.sess)
	c.w.onError = func(err error) {
		c.debug("write failed", "err", err)
		c.close("write failed")
	}
	c.w.onDone = func(code int, reason string) {
		// The client closes its end once it has read the kick (and its
		// reader then closes the connection), or kickGrace does.
		if err := c.t.end(code, reason); err != nil {
			c.close("kicked")
		}
	}
	return c
}

// logger is the server's logger with the connection's attributes, made when
// something is logged: a logger kept per connection costs every idle client
// a few hundred bytes for lines most connections never write.
func (c *conn) logger() *slog.Logger {
	return c.srv.cfg.Logger.With("session", c.sess.id, "remote", c.t.remoteAddr(), "transport", c.t.kind())
}

// debug logs at debug level, building the connection's logger only when
// that level is on: a connection closes far more often than anyone reads
// debug lines.
func (c *conn) debug(msg string, args ...any) {
	if c.srv.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		c.logger().Debug(msg, args...)
	}
}

// serve reads the client until it goes away or breaks the protocol.
func (c *conn) serve(ctx context.Context) {
	_ = c.t.setReadDeadline(time.Now().Add(c.srv.cfg.HandshakeTimeout))
	c.read(ctx, true)
}

// read reads the client's packages until the connection ends. The goroutine
// that accepted the connection grew its stack for the HTTP upgrade and the
// handshake's JSON, and a goroutine's stack shrinks only when the garbage
// collector finds it mostly unused. Once the handshake is done, reading
// therefore goes on in a fresh goroutine, whose stack starts small and stays
// so while the client idles: ten thousand idle clients then hold a few KiB
// each instead of 8.
func (c *conn) read(ctx context.Context, handshaking bool) {
	err := c.t.readPackets(func(typ protocol.PacketType, body []byte) error {
		if err := c.handle(ctx, typ, body); !errors.Is(err, errClosed) {
			return err
		}
		// An answer to a kicked client is dropped, and reading goes on
		// until the client closes its end: closing first could reset the
		// connection under the kick.
		return nil
	}, func() bool { return handshaking && c.state == stWorking })
	if errors.Is(err, errHandOff) {
		c.srv.wg.Add(1)
		go func() {
			defer c.srv.wg.Done()
			c.read(ctx, false)
		}()
		return
	}
	// A refusal or kick queued by now goes out before the connection closes.
	c.w.waitDrained(writeTimeout)
	defer c.close("connection ended")
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, errKicked), errors.Is(err, errClosed):
	case errors.As(err, &ne) && ne.Timeout():
		c.logger().Info("client dropped: silent past the heartbeat timeout", "state", c.state)
	case isClosedByPeer(err):
	default:
		c.logger().Warn("client dropped", "err", err)
	}
}

var errKicked = errors.New("kicked")

func (c *conn) handle(ctx context.Context, typ protocol.PacketType, body []byte) error {
	if c.srv.cfg.Heartbeat > 0 && c.state == stWorking {
		// Any package shows the client is alive; two intervals of silence drop it.
		_ = c.t.setReadDeadline(time.Now().Add(2 * c.srv.cfg.Heartbeat))
	}
	switch typ {
	case protocol.Handshake:
		if c.state != stHandshake {
			return errors.New("a second handshake")
		}
		return c.handshake(ctx, body)
	case protocol.HandshakeAck:
		if c.state != stWaitAck {
			return errors.New("a handshake ack without a handshake")
		}
		c.state = stWorking
		if c.srv.cfg.Heartbeat > 0 {
			// As Pomelo does, the ack counts as the first heartbeat: answering it
			// starts the client's own heartbeat timer.
			_ = c.t.setReadDeadline(time.Now().Add(2 * c.srv.cfg.Heartbeat))
			return c.send(heartbeatPacket())
		}
		_ = c.t.setReadDeadline(time.Time{})
		return nil
	case protocol.Heartbeat:
		if c.state != stWorking || c.srv.cfg.Heartbeat == 0 {
			return nil
		}
		return c.send(heartbeatPacket())
	case protocol.Data:
		if c.state != stWorking {
			return errors.New("data before the handshake completed")
		}
		if c.w.ending() {
			// Kicked: the session is over, even while the client takes
			// its time to close. Nothing it asks for now is done.
			return nil
		}
		return c.data(ctx, body)
	case protocol.Kick:
		return errors.New("a client sent a kick")
	}
	return fmt.Errorf("%w: %d", protocol.ErrBadPacketType, typ)
}

// heartbeatPacket is a heartbeat package: a header with no body.
func heartbeatPacket() []byte { return []byte{byte(protocol.Heartbeat), 0, 0, 0} }

func (c *conn) handshake(ctx context.Context, body []byte) error {
	cfg := &c.srv.cfg
	req, err := protocol.ParseHandshake(body)
	if err != nil {
		c.logger().Info("handshake refused", "err", err)
		c.refuse(protocol.CodeBadHandshake)
		return errKicked
	}
	if cfg.CheckClient != nil && !cfg.CheckClient(req.Sys.Type, req.Sys.Version) {
		c.logger().Info("handshake refused: client version", "type", req.Sys.Type, "version", req.Sys.Version)
		c.refuse(protocol.CodeOldClient)
		return errKicked
	}
	var user json.RawMessage
	if cfg.Handshake != nil {
		if user, err = cfg.Handshake(ctx, c.sess, req.User); err != nil {
			c.logger().Info("handshake refused by the user handshake", "err", err)
			c.refuse(protocol.CodeBadHandshake)
			return errKicked
		}
	}
	resp := protocol.AppendHandshakeResponse(nil, req, c.srv.handshakeOpts, user)
	pkt, err := protocol.AppendPacket(nil, protocol.Handshake, resp)
	if err != nil {
		return err
	}
	c.state = stWaitAck
	return c.send(pkt)
}

func (c *conn) refuse(code int) {
	pkt, _ := protocol.AppendPacket(nil, protocol.Handshake, protocol.HandshakeError(code))
	c.sendLast(pkt, websocket.ClosePolicyViolation, "handshake refused")
}

func (c *conn) data(ctx context.Context, body []byte) error {
	m, err := protocol.DecodeMessage(body, c.srv.cfg.Dict)
	if err != nil {
		return err
	}
	switch m.Type {
	case protocol.Request, protocol.Notify:
	default:
		return fmt.Errorf("%w: a client sent a message of type %d", protocol.ErrBadMessage, m.Type)
	}
	req := &Request{Route: m.Route, Notify: m.Type == protocol.Notify}
	if req.Body, err = c.srv.decodeBody(m.Route, m.Body); err != nil {
		c.logger().Info("bad request body", "route", m.Route, "err", err)
		return c.respond(m, nil, &Error{Code: 500, Msg: err.Error()})
	}
	if c.srv.kicking.Load() {
		return nil // its kick is on its way: the client learns why from it
	}
	// Counted until the answer is queued, so that a graceful stop's kick
	// comes after it.
	c.srv.inflight.Add(1)
	hook := c.srv.cfg.OnHandled
	var start time.Time
	if hook != nil {
		start = time.Now()
	}
	if h := c.srv.asyncOther; h != nil && !c.srv.draining.Load() && c.srv.handlers[m.Route] == nil {
		c.dataAsync(ctx, h, m, req, start)
		return nil
	}
	defer c.srv.inflight.Add(-1)
	var res any
	if c.srv.draining.Load() {
		err = &Error{Code: 500, Msg: "the server is stopping"}
	} else {
		res, err = c.srv.dispatch(ctx, c.sess, req)
	}
	if hook != nil {
		hook(m.Route, time.Since(start), err)
	}
	if req.Notify {
		if err != nil {
			c.logger().Info("notify failed", "route", m.Route, "err", err)
		}
		return nil
	}
	return c.respond(m, res, err)
}

// dataAsync hands a request to an asynchronous handler; its answer goes out
// when it comes.
func (c *conn) dataAsync(ctx context.Context, h AsyncHandlerFunc, m protocol.Message, req *Request, start time.Time) {
	a := &asyncAnswer{c: c, m: m, req: req, start: start}
	a.n = copy(a.id[:], m.RawID)
	h(ctx, c.sess, req, a.reply)
}

// asyncAnswer is what answering a request taken by an asynchronous handler
// needs, in one allocation rather than one for each.
type asyncAnswer struct {
	c   *conn
	m   protocol.Message
	req *Request
	// The id the client wrote: m.RawID aliases the read buffer, which the
	// reader reuses for the next message.
	id    [protocol.MaxVarintLen]byte
	n     int
	start time.Time // when it was read, for Config.OnHandled
}

func (a *asyncAnswer) reply(res any, err error) {
	c := a.c
	defer c.srv.inflight.Add(-1)
	if hook := c.srv.cfg.OnHandled; hook != nil {
		hook(a.req.Route, time.Since(a.start), err)
	}
	if a.req.Notify {
		if err != nil {
			c.logger().Info("notify failed", "route", a.req.Route, "err", err)
		}
		return
	}
	m := a.m
	m.RawID, m.Body = a.id[:a.n], nil
	if err := c.respond(m, res, err); err != nil {
		c.logger().Warn("cannot answer", "route", a.req.Route, "err", err)
	}
}

// respond answers request m with a handler's result or error.
func (c *conn) respond(m protocol.Message, res any, herr error) error {
	if m.Type != protocol.Request {
		return nil
	}
	var body []byte
	var err error
	if herr != nil {
		body = errorBody(herr)
	} else if body, err = c.srv.encodeBody(m.Route, res); err != nil {
		c.logger().Warn("cannot encode the response", "route", m.Route, "err", err)
		body = errorBody(err)
	}
	pkt, err := appendDataPacket(&protocol.Message{Type: protocol.Response, ID: m.ID, RawID: m.RawID, Body: body}, c.srv.cfg.Dict)
	if err != nil {
		return err
	}
	return c.send(pkt)
}

func (c *conn) push(route string, msg any) error {
	p, err := c.srv.EncodePush(route, msg)
	if err != nil {
		return err
	}
	return c.sendPush(p.pkt)
}

// send queues a package to be written at once; a client whose queue is full
// is kicked.
func (c *conn) send(pkt []byte) error { return c.queued(c.w.send(pkt)) }

// sendPush queues a push, which may wait for the flush interval.
func (c *conn) sendPush(pkt []byte) error { return c.queued(c.w.push(pkt)) }

// queued kicks a client whose queue was full.
func (c *conn) queued(err error) error {
	if errors.Is(err, errSlowClient) {
		c.logger().Warn("client kicked: it does not read fast enough", "queue", c.srv.cfg.WriteQueue)
		c.kick("too slow", websocket.ClosePolicyViolation)
	}
	return err
}

// kickGrace is how long a kicked client has to read what it was sent, the
// kick last, and close its end before the server closes the connection: a
// client that reads nothing (a slow one, whose queue is full) is not let
// hold its connection until the write deadline.
const kickGrace = 2 * time.Second

// kick sends the client a kick with reason, then ends the connection with
// code (a WebSocket close code: CloseGoingAway when the server stops).
func (c *conn) kick(reason string, code int) {
	pkt, _ := protocol.AppendPacket(nil, protocol.Kick, protocol.KickBody(reason))
	c.sendLast(pkt, code, reason)
}

// sendLast queues the connection's last package, then ends it: the
// transport's end once the package is out, and a close past kickGrace.
func (c *conn) sendLast(pkt []byte, code int, reason string) {
	if c.w.sendLast(pkt, code, closeReason(reason)) {
		time.AfterFunc(kickGrace, func() { c.close("kicked: the client did not close its end in time") })
	}
}

// closeReason fits reason into a WebSocket close frame, whose reason is at
// most 123 bytes.
func closeReason(reason string) string {
	if len(reason) <= 123 {
		return reason
	}
	return strings.ToValidUTF8(reason[:123], "")
}

// close ends the connection and the session, once.
func (c *conn) close(why string) {
	c.closeOnce.Do(func() {
		c.w.close()
		_ = c.t.close()
		c.srv.sessions.remove(c.sess)
		c.srv.conns.Add(-1)
		hooks, _ := c.sess.markClosed()
		for _, h := range hooks {
			c.safely(func() { h(c.sess) })
		}
		for _, h := range c.srv.onClose {
			c.safely(func() { h(c.sess) })
		}
		c.debug("session closed", "why", why)
	})
}

// safely runs fn, logging instead of crashing the server when it panics.
func (c *conn) safely(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			c.logger().Error("panic in a session hook", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// appendDataPacket encodes m into one data package without copying the message.
func appendDataPacket(m *protocol.Message, dict *protocol.Dictionary) ([]byte, error) {
	buf := make([]byte, protocol.HeaderLen, protocol.HeaderLen+16+len(m.Route)+len(m.Body))
	buf, err := protocol.AppendMessage(buf, m, dict)
	if err != nil {
		return nil, err
	}
	n := len(buf) - protocol.HeaderLen
	if n > protocol.MaxBodyLen {
		return nil, fmt.Errorf("%w: a message of %d bytes", protocol.ErrTooLarge, n)
	}
	buf[0] = byte(protocol.Data)
	buf[1], buf[2], buf[3] = byte(n>>16), byte(n>>8), byte(n)
	return buf, nil
}
