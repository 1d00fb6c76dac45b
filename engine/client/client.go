// Package client is a Pomelo protocol client in Go, over WebSocket or raw TCP:
// what pomeloctl's load generator and tests use to speak to frontends as real
// game clients do (handshake and ack, heartbeats, requests matched to responses
// by id, notifies, pushes, kicks).
package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
	"github.com/pomeloctl/pomeloctl/internal/batchconn"
)

// Options shape a connection. The zero value speaks WebSocket with JSON bodies.
type Options struct {
	// TCP dials raw TCP instead of WebSocket.
	TCP bool
	// Type and Version are what the handshake says of the client.
	Type, Version string
	// User is the handshake's user part.
	User json.RawMessage
	// OnPush is called, in the reading goroutine, for each push.
	OnPush func(route string, body []byte)
	// OnKick is called with the reason when the server kicks the client.
	OnKick func(reason string)
	// MaxPackageSize bounds what the client accepts; 0 is 16 MiB.
	MaxPackageSize int
}

// ErrClosed is returned by calls on a closed client, and by requests in flight
// when the connection ends.
var ErrClosed = errors.New("client: the connection is closed")

// Client is one connected, handshaken client. It is safe for concurrent use.
type Client struct {
	opts Options
	conn rawConn
	sys  HandshakeSys

	codes *routeCodes // the server's route dictionary, when it uses one

	// Packages queued to write: whoever queues into an empty queue writes
	// until it is empty, so that requests sent at once go out in one write.
	wmu     sync.Mutex
	wqueue  [][]byte
	wspare  [][]byte
	writing bool
	nextID  atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan result
	closed  bool
	err     error
	done    chan struct{}
	hbTimer *time.Timer
}

// HandshakeSys is the server's sys part of the handshake answer.
type HandshakeSys struct {
	Heartbeat   int               `json:"heartbeat"`
	Dict        map[string]uint16 `json:"dict"`
	DictVersion string            `json:"dictVersion"`
	UseDict     bool              `json:"useDict"`
	Protos      json.RawMessage   `json:"protos"`
	UseProto    bool              `json:"useProto"`
}

type result struct {
	body []byte
	err  error
}

// Dial connects to a frontend at addr (host:port) and completes the handshake.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	if opts.MaxPackageSize == 0 {
		opts.MaxPackageSize = protocol.MaxBodyLen
	}
	if opts.Type == "" {
		opts.Type, opts.Version = "go-pomeloctl", "0.1.0"
	}
	var conn rawConn
	var err error
	if opts.TCP {
		conn, err = dialTCP(ctx, addr, opts.MaxPackageSize)
	} else {
		conn, err = dialWS(ctx, addr, opts.MaxPackageSize)
	}
	if err != nil {
		return nil, err
	}
	c := &Client{opts: opts, conn: conn, pending: map[uint64]chan result{}, done: make(chan struct{})}
	if err := c.handshake(ctx); err != nil {
		_ = conn.close()
		return nil, err
	}
	go c.read()
	return c, nil
}

// Sys is what the server said in its handshake.
func (c *Client) Sys() HandshakeSys { return c.sys }

func (c *Client) handshake(ctx context.Context) error {
	hs := map[string]any{"sys": map[string]any{"type": c.opts.Type, "version": c.opts.Version}}
	if c.opts.User != nil {
		hs["user"] = c.opts.User
	}
	body, _ := json.Marshal(hs)
	if err := c.writePacket(protocol.Handshake, body); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.setReadDeadline(dl)
		defer func() { _ = c.conn.setReadDeadline(time.Time{}) }()
	}
	typ, resp, err := c.conn.next()
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if typ != protocol.Handshake {
		return fmt.Errorf("handshake: the server answered with a package of type %d", typ)
	}
	var answer struct {
		Code int          `json:"code"`
		Sys  HandshakeSys `json:"sys"`
	}
	if err := json.Unmarshal(resp, &answer); err != nil {
		return fmt.Errorf("handshake: the answer is not JSON: %w", err)
	}
	if answer.Code != protocol.CodeOK {
		return fmt.Errorf("handshake refused with code %d", answer.Code)
	}
	c.sys = answer.Sys
	if answer.Sys.UseDict && answer.Sys.Dict != nil {
		c.codes = newRouteCodes(answer.Sys.Dict)
	}
	return c.writePacket(protocol.HandshakeAck, nil)
}

// Request sends a request and waits for its response body.
func (c *Client) Request(ctx context.Context, route string, body []byte) ([]byte, error) {
	id := c.nextID.Add(1)
	ch := make(chan result, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, c.closedErr()
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.writeMessage(&protocol.Message{Type: protocol.Request, ID: id, Route: route, Body: body}); err != nil {
		c.forget(id)
		return nil, err
	}
	select {
	case r := <-ch:
		return r.body, r.err
	case <-ctx.Done():
		c.forget(id)
		return nil, ctx.Err()
	}
}

// Notify sends a notify; the server sends nothing back.
func (c *Client) Notify(route string, body []byte) error {
	return c.writeMessage(&protocol.Message{Type: protocol.Notify, Route: route, Body: body})
}

// Done is closed when the connection ends; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, or nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection.
func (c *Client) Close() error {
	c.fail(ErrClosed)
	return nil
}

func (c *Client) closedErr() error {
	if c.err != nil {
		return c.err
	}
	return ErrClosed
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *Client) writeMessage(m *protocol.Message) error {
	buf := make([]byte, protocol.HeaderLen, protocol.HeaderLen+16+len(m.Route)+len(m.Body))
	buf, err := protocol.AppendMessage(buf, m, c.codes.dict())
	if err != nil {
		return err
	}
	n := len(buf) - protocol.HeaderLen
	buf[0] = byte(protocol.Data)
	buf[1], buf[2], buf[3] = byte(n>>16), byte(n>>8), byte(n)
	return c.write(buf)
}

func (c *Client) writePacket(t protocol.PacketType, body []byte) error {
	buf, err := protocol.AppendPacket(nil, t, body)
	if err != nil {
		return err
	}
	return c.write(buf)
}

func (c *Client) write(b []byte) error {
	c.mu.Lock()
	closed, others := c.closed, len(c.pending) > 1
	c.mu.Unlock()
	if closed {
		return c.closedErr()
	}
	c.wmu.Lock()
	c.wqueue = append(c.wqueue, b)
	if c.writing {
		// The goroutine writing now writes this too; if that fails, the
		// connection fails, and with it whatever waits for an answer.
		c.wmu.Unlock()
		return nil
	}
	c.writing = true
	c.wmu.Unlock()
	if others {
		// Let the other requests of a burst (answers that came together
		// wake their senders together) queue first: one system call then
		// carries them all. A lone request goes at once.
		runtime.Gosched()
	}
	c.wmu.Lock()
	var err error
	for len(c.wqueue) > 0 && err == nil {
		batch := c.wqueue
		c.wqueue, c.wspare = c.wspare[:0], batch
		c.wmu.Unlock()
		if err = c.conn.write(batch); err != nil {
			c.fail(fmt.Errorf("client: connection lost: %w", err))
		}
		clear(batch)
		c.wmu.Lock()
	}
	c.wqueue = c.wqueue[:0]
	c.writing = false
	c.wmu.Unlock()
	return err
}

func (c *Client) read() {
	for {
		typ, body, err := c.conn.next()
		if err != nil {
			c.fail(fmt.Errorf("client: connection lost: %w", err))
			return
		}
		switch typ {
		case protocol.Heartbeat:
			c.scheduleHeartbeat()
		case protocol.Kick:
			var k struct {
				Reason string `json:"reason"`
			}
			_ = json.Unmarshal(body, &k)
			if c.opts.OnKick != nil {
				c.opts.OnKick(k.Reason)
			}
			c.fail(fmt.Errorf("client: kicked: %s", k.Reason))
			return
		case protocol.Data:
			if err := c.dispatch(body); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

// scheduleHeartbeat answers the server's heartbeat one interval later, as
// Pomelo's clients do.
func (c *Client) scheduleHeartbeat() {
	if c.sys.Heartbeat <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.hbTimer != nil {
		return
	}
	c.hbTimer = time.AfterFunc(time.Duration(c.sys.Heartbeat)*time.Second, func() {
		c.mu.Lock()
		c.hbTimer = nil
		c.mu.Unlock()
		_ = c.writePacket(protocol.Heartbeat, nil)
	})
}

func (c *Client) dispatch(body []byte) error {
	m, err := protocol.DecodeMessage(body, c.codes.dict())
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	switch m.Type {
	case protocol.Response:
		c.mu.Lock()
		ch, ok := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ok {
			ch <- result{body: append([]byte(nil), m.Body...)}
		}
	case protocol.Push:
		if c.opts.OnPush != nil {
			c.opts.OnPush(m.Route, m.Body)
		}
	}
	return nil
}

// fail ends the connection once, failing every request in flight with err.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.err = true, err
	pending := c.pending
	c.pending = nil
	if c.hbTimer != nil {
		c.hbTimer.Stop()
	}
	c.mu.Unlock()
	_ = c.conn.close()
	for _, ch := range pending {
		ch <- result{err: err}
	}
	close(c.done)
}

// rawConn is a stream of packages over one transport.
type rawConn interface {
	next() (protocol.PacketType, []byte, error)
	write(packages [][]byte) error // in one system call where it can
	setReadDeadline(time.Time) error
	close() error
}

type tcpConn struct {
	c  net.Conn
	pr *protocol.PacketReader
}

func dialTCP(ctx context.Context, addr string, max int) (*tcpConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &tcpConn{c: c, pr: protocol.NewPacketReader(bufio.NewReader(c), max)}, nil
}

func (t *tcpConn) next() (protocol.PacketType, []byte, error) { return t.pr.Next() }
func (t *tcpConn) write(b [][]byte) error {
	nb := net.Buffers(b)
	_, err := nb.WriteTo(t.c)
	return err
}
func (t *tcpConn) setReadDeadline(d time.Time) error { return t.c.SetReadDeadline(d) }
func (t *tcpConn) close() error                      { return t.c.Close() }

// wsConn reads WebSocket messages, each holding one or more packages.
type wsConn struct {
	c     *websocket.Conn
	bc    *batchconn.Conn // the connection under c
	max   int
	queue []packet
}

type packet struct {
	t    protocol.PacketType
	body []byte
}

func dialWS(ctx context.Context, addr string, max int) (*wsConn, error) {
	u := url.URL{Scheme: "ws", Host: addr, Path: "/"}
	var bc *batchconn.Conn
	d := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			bc = batchconn.New(c)
			return bc, nil
		}}
	c, _, err := d.DialContext(ctx, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &wsConn{c: c, bc: bc, max: max}, nil
}

func (w *wsConn) next() (protocol.PacketType, []byte, error) {
	for len(w.queue) == 0 {
		_, data, err := w.c.ReadMessage()
		if err != nil {
			return 0, nil, err
		}
		err = protocol.SplitPackets(data, w.max, func(t protocol.PacketType, b []byte) error {
			w.queue = append(w.queue, packet{t, b})
			return nil
		})
		if err != nil {
			return 0, nil, err
		}
	}
	p := w.queue[0]
	w.queue = w.queue[1:]
	return p.t, p.body, nil
}

// write sends each package as a WebSocket message, as Pomelo's clients do,
// and several in one system call.
func (w *wsConn) write(packages [][]byte) error {
	if len(packages) > 1 {
		w.bc.Begin()
	}
	for _, p := range packages {
		if err := w.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
			w.bc.Flush()
			return err
		}
	}
	return w.bc.Flush()
}

func (w *wsConn) setReadDeadline(d time.Time) error { return w.c.SetReadDeadline(d) }
func (w *wsConn) close() error                      { return w.c.Close() }
