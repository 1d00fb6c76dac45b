package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// ServeBareEcho serves a bare gorilla/websocket echo (no Pomelo protocol) on ln
// until ctx ends: the ceiling a frontend's echo is measured against.
func ServeBareEcho(ctx context.Context, ln net.Listener) error {
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// BareEcho runs the same load as Echo against a bare WebSocket echo: each
// connection keeps InFlight messages outstanding, matched to their echoes in order.
func BareEcho(ctx context.Context, cfg EchoConfig) (*EchoResult, error) {
	cfg = echoDefaults(cfg)
	if cfg.Name == "echo" {
		cfg.Name = "bare websocket echo"
	}
	conns, err := dialAll(ctx, cfg.Clients, func(ctx context.Context) (*bareConn, error) {
		d := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024}
		c, _, err := d.DialContext(ctx, "ws://"+cfg.Addr+"/", nil)
		if err != nil {
			return nil, err
		}
		bc := &bareConn{c: c, sent: make(chan time.Time, cfg.InFlight), slots: make(chan struct{}, cfg.InFlight)}
		return bc, nil
	})
	defer func() {
		for _, c := range conns {
			_ = c.c.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	msg := []byte(`{"msg":"` + strings.Repeat("x", cfg.Size) + `"}`)
	res, err := run(ctx, EchoConfig{Name: cfg.Name, Clients: len(conns), InFlight: 1, Duration: cfg.Duration, Progress: cfg.Progress},
		func(ctx context.Context, i int, record func(time.Duration, error)) {
			conns[i].drive(ctx, cfg.InFlight, msg, record)
		})
	if res != nil {
		res.InFlight = cfg.InFlight
	}
	return res, err
}

type bareConn struct {
	c     *websocket.Conn
	sent  chan time.Time
	slots chan struct{}
}

// drive keeps inFlight messages outstanding on one connection until ctx ends.
func (b *bareConn) drive(ctx context.Context, inFlight int, msg []byte, record func(time.Duration, error)) {
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			if _, _, err := b.c.ReadMessage(); err != nil {
				return
			}
			t0 := <-b.sent
			<-b.slots
			if ctx.Err() == nil {
				record(time.Since(t0), nil)
			}
		}
	}()
	for ctx.Err() == nil {
		select {
		case b.slots <- struct{}{}:
		case <-ctx.Done():
		case <-readDone:
			return
		}
		if ctx.Err() != nil {
			break
		}
		b.sent <- time.Now()
		if err := b.c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			record(0, err)
			return
		}
	}
	_ = b.c.Close()
	<-readDone
}

// BareConnect is Connect's ceiling on this machine: each login opens the same
// connections a chatofpomelo login does, to a bare gorilla/websocket echo at
// addr (see ServeBareEcho) — one with a round trip, closed (the gate), and one
// with two round trips, kept (the handshake and enter at the connector) —
// without Pomelo's protocol or any server's work.
func BareConnect(ctx context.Context, addr string, cfg ConnectConfig) (*ConnectResult, error) {
	msg := []byte(`{"uid":"bench"}`)
	open := func(ctx context.Context, trips int) (*websocket.Conn, error) {
		d := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024}
		c, _, err := d.DialContext(ctx, "ws://"+addr+"/", nil)
		if err != nil {
			return nil, err
		}
		for range trips {
			if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
				c.Close()
				return nil, err
			}
			if _, _, err := c.ReadMessage(); err != nil {
				c.Close()
				return nil, err
			}
		}
		return c, nil
	}
	return connectRun(ctx, cfg, "bare websocket", func(ctx context.Context, _ int) (io.Closer, error) {
		gate, err := open(ctx, 1)
		if err != nil {
			return nil, err
		}
		gate.Close()
		return open(ctx, 2)
	})
}
