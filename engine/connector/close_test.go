package connector

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
)

// A graceful stop kicks a WebSocket client with the reason, then closes with
// a close frame saying the server goes away (1001), and waits for the
// client to close its end: the client never sees an abnormal close (1006).
func TestShutdownEndsWebSocketsWithACloseFrame(t *testing.T) {
	s, _ := start(t, Config{})
	ws := wsDial(t, s)

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- s.Shutdown(ctx)
	}()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var kicked bool
	for {
		_, msg, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.CloseGoingAway || ce.Text != "server stopping" {
				t.Errorf("close frame %d %q; want %d %q", ce.Code, ce.Text, websocket.CloseGoingAway, "server stopping")
			}
			break
		}
		if err != nil {
			t.Fatalf("reading until the close frame: %v (kicked: %v)", err, kicked)
		}
		if typ, body, perr := protocol.NewPacketReader(bytes.NewReader(msg), 1<<20).Next(); perr == nil && typ == protocol.Kick {
			if string(body) != `{"reason":"server stopping"}` {
				t.Errorf("kick %s", body)
			}
			kicked = true
		}
	}
	if !kicked {
		t.Error("the close frame came without a kick before it")
	}
	// gorilla/websocket answered the close frame; the server then closes.
	select {
	case err := <-stopped:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(kickGrace + 5*time.Second):
		t.Fatal("Shutdown did not return after the client closed")
	}
}

// Over raw TCP the kick is followed by the end of the stream (a FIN), not
// a reset, so the client reads the kick whole.
func TestShutdownEndsTCPWithTheKick(t *testing.T) {
	s, _ := start(t, Config{})
	raw := rawDial(t, s)
	raw.handshake(t)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	got := raw.waitClosed(t, 5*time.Second)
	if want := packet(protocol.Kick, []byte(`{"reason":"server stopping"}`)); string(got) != string(want) {
		t.Errorf("read %q until the end; want the kick %q", got, want)
	}
}

// A kicked client that reads nothing is closed after kickGrace, not held
// until the write deadline.
func TestKickedClientThatDoesNotCloseIsClosed(t *testing.T) {
	s, _ := start(t, Config{})
	wsDial(t, s) // and then read nothing
	var sess *Session
	eventually(t, "the session is registered", func() bool {
		all := s.Sessions().all()
		if len(all) == 1 {
			sess = all[0]
		}
		return sess != nil
	})
	t0 := time.Now()
	if err := sess.Kick("bye"); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing, so it never answers the close frame.
	eventually(t, "the session is closed", sess.isClosed)
	if d := time.Since(t0); d < kickGrace/2 {
		t.Errorf("closed after %s: the client was not given its grace to close", d)
	}
}

// wsDial connects a bare WebSocket to s and does the Pomelo handshake.
func wsDial(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteMessage(websocket.BinaryMessage, packet(protocol.Handshake, []byte(`{"sys":{"type":"raw","version":"1"}}`))); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || len(msg) == 0 || protocol.PacketType(msg[0]) != protocol.Handshake {
		t.Fatalf("handshake answer %q %v", msg, err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, packet(protocol.HandshakeAck, nil)); err != nil {
		t.Fatal(err)
	}
	return ws
}

// Once kicked, a client's requests are not handled, while the server waits
// for it to close its end.
func TestAKickedClientsRequestsAreNotHandled(t *testing.T) {
	s, _ := start(t, Config{})
	var handled atomic.Int32
	s.Handle("entryHandler.count", func(context.Context, *Session, *Request) (any, error) {
		handled.Add(1)
		return nil, nil
	})
	ws := wsDial(t, s)
	var sess *Session
	eventually(t, "the session is registered", func() bool {
		if all := s.Sessions().all(); len(all) == 1 {
			sess = all[0]
		}
		return sess != nil
	})
	if err := sess.Kick("banned"); err != nil {
		t.Fatal(err)
	}
	route := "connector.entryHandler.count"
	for range 5 {
		msg := append([]byte{0x00, 1, byte(len(route))}, route+"{}"...)
		if err := ws.WriteMessage(websocket.BinaryMessage, packet(protocol.Data, msg)); err != nil {
			break // the server closed already
		}
	}
	eventually(t, "the session is closed", sess.isClosed)
	if n := handled.Load(); n != 0 {
		t.Errorf("%d requests of a kicked client were handled", n)
	}
}
