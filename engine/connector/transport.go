package connector

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
	"github.com/pomeloctl/pomeloctl/internal/batchconn"
)

// transport is one client connection, WebSocket or raw TCP, seen as a stream of
// Pomelo packages.
type transport interface {
	// readPackets calls fn for each package until reading fails or fn returns an
	// error. The body is only valid during the call. Between one message and
	// the next, it returns errHandOff once handOff says so; reading can then
	// go on, with another call, where it stopped.
	readPackets(fn func(protocol.PacketType, []byte) error, handOff func() bool) error
	// write writes whole packages, in one system call where the transport
	// allows it; only the connection's writer calls it.
	write(packages [][]byte) error
	setReadDeadline(t time.Time) error
	// end tells the client the server is done with the connection, once
	// the last package is written: a WebSocket close frame with code and
	// reason, a FIN on raw TCP. The connection stays open for the client
	// to close its end, so that nothing it was sent is lost to a reset.
	end(code int, reason string) error
	close() error
	remoteAddr() string
	kind() string
}

// writeTimeout bounds one write, so that a client that stops reading cannot hold
// a writer goroutine for ever.
const writeTimeout = 10 * time.Second

// writeDeadline renews a connection's write deadline at most once a second,
// so that it stays between 9 and 10 s ahead: a busy connection writes
// thousands of times a second, and each renewal updates a runtime timer.
type writeDeadline struct{ renewed time.Time }

func (d *writeDeadline) renew(set func(time.Time) error) error {
	now := time.Now()
	if now.Sub(d.renewed) < time.Second {
		return nil
	}
	d.renewed = now
	return set(now.Add(writeTimeout))
}

type tcpTransport struct {
	c        net.Conn
	r        *bufio.Reader
	max      int
	buf      []byte // the writer's batch, reused
	deadline writeDeadline
}

func (t *tcpTransport) readPackets(fn func(protocol.PacketType, []byte) error, handOff func() bool) error {
	pr := protocol.NewPacketReader(t.r, t.max) // it reads nothing ahead: a new one goes on where this one stopped
	for {
		if handOff() {
			return errHandOff
		}
		if err := waitShallow(t.r); err != nil {
			return err
		}
		typ, body, err := pr.Next()
		if err != nil {
			return err
		}
		if err := fn(typ, body); err != nil {
			return err
		}
	}
}

func (t *tcpTransport) write(packages [][]byte) error {
	if err := t.deadline.renew(t.c.SetWriteDeadline); err != nil {
		return err
	}
	t.buf = t.buf[:0]
	for _, p := range packages {
		t.buf = append(t.buf, p...)
	}
	_, err := t.c.Write(t.buf)
	if cap(t.buf) > 64<<10 {
		t.buf = nil // do not pin a burst's buffer on an idle connection
	}
	return err
}

func (t *tcpTransport) setReadDeadline(d time.Time) error { return t.c.SetReadDeadline(d) }
func (t *tcpTransport) close() error                      { return t.c.Close() }

func (t *tcpTransport) end(int, string) error {
	if cw, ok := t.c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return t.c.Close()
}
func (t *tcpTransport) remoteAddr() string { return t.c.RemoteAddr().String() }
func (t *tcpTransport) kind() string       { return "tcp" }

type wsTransport struct {
	c        *websocket.Conn
	br       *bufio.Reader   // what c reads through
	batch    *batchconn.Conn // the connection under c
	max      int
	buf      []byte
	deadline writeDeadline
}

func (t *wsTransport) readPackets(fn func(protocol.PacketType, []byte) error, handOff func() bool) error {
	for {
		if handOff() {
			return errHandOff
		}
		if err := waitShallow(t.br); err != nil {
			return err
		}
		mt, r, err := t.c.NextReader()
		if err != nil {
			return err
		}
		if mt != websocket.BinaryMessage {
			return fmt.Errorf("a WebSocket text message: Pomelo clients send binary packages")
		}
		t.buf, err = readAll(r, t.buf[:0])
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				return fmt.Errorf("%w: a WebSocket message over %d bytes", protocol.ErrTooLarge, t.max)
			}
			return err
		}
		if err := protocol.SplitPackets(t.buf, t.max, fn); err != nil {
			return err
		}
		if cap(t.buf) > 64<<10 {
			t.buf = nil // do not pin one large message's buffer on an idle connection
		}
	}
}

// errHandOff ends a readPackets call that its handOff func stopped.
var errHandOff = errors.New("reading handed off")

// waitShallow waits for the client's next bytes a few calls deep, before
// the package reader (and gorilla/websocket's frame reader) go deeper: an
// idle connection's goroutine parks on a stack small enough to stay at the
// smallest size (see conn.read).
func waitShallow(br *bufio.Reader) error {
	if br == nil || br.Buffered() > 0 {
		return nil
	}
	_, err := br.Peek(1)
	return err
}

// readAll is io.ReadAll into a reused buffer.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// write sends each package as a WebSocket message of its own (Pomelo's
// browser client decodes only the first package of a message), but a batch's
// messages in one system call.
func (t *wsTransport) write(packages [][]byte) error {
	if err := t.deadline.renew(t.c.SetWriteDeadline); err != nil {
		return err
	}
	if len(packages) > 1 && t.batch != nil {
		t.batch.Begin()
	}
	for _, p := range packages {
		if err := t.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
			t.batch.Flush()
			return err
		}
	}
	return t.batch.Flush()
}

func (t *wsTransport) setReadDeadline(d time.Time) error { return t.c.SetReadDeadline(d) }
func (t *wsTransport) close() error                      { return t.c.Close() }

func (t *wsTransport) end(code int, reason string) error {
	// gorilla/websocket refuses every write after a close frame, its
	// answer to the client's close included.
	return t.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeTimeout))
}
func (t *wsTransport) remoteAddr() string { return t.c.RemoteAddr().String() }
func (t *wsTransport) kind() string       { return "ws" }

// upgradeWriter is the http.ResponseWriter the WebSocket upgrader needs, over a
// connection no net/http server owns: it hands the connection over (Hijack), or
// writes the upgrader's HTTP error response.
type upgradeWriter struct {
	conn        net.Conn
	brw         *bufio.ReadWriter
	header      http.Header
	wroteHeader bool
}

func (w *upgradeWriter) Header() http.Header { return w.header }

func (w *upgradeWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	_ = w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	fmt.Fprintf(w.conn, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	w.header.Set("Connection", "close")
	_ = w.header.Write(w.conn)
	_, _ = io.WriteString(w.conn, "\r\n")
}

func (w *upgradeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.conn.Write(b)
}

func (w *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.conn, w.brw, nil }
