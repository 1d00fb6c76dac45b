package protocol

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// PacketType is the first byte of a packet header.
type PacketType byte

// The packet types Pomelo defines; any other first byte is a protocol error.
const (
	Handshake    PacketType = 1
	HandshakeAck PacketType = 2
	Heartbeat    PacketType = 3
	Data         PacketType = 4
	Kick         PacketType = 5
)

// HeaderLen is the size of a packet header: type byte and 3-byte length.
const HeaderLen = 4

// MaxBodyLen is the largest body a 3-byte length can describe.
const MaxBodyLen = 1<<24 - 1

var (
	// ErrTooLarge reports a packet body longer than the reader's limit (or
	// than MaxBodyLen when encoding).
	ErrTooLarge = errors.New("protocol: packet too large")
	// ErrBadPacketType reports a packet whose type byte is not one of
	// Handshake, HandshakeAck, Heartbeat, Data or Kick — usually a client
	// speaking another protocol on the port.
	ErrBadPacketType = errors.New("protocol: unknown packet type")
)

// String names the packet type for logs and errors.
func (t PacketType) String() string {
	switch t {
	case Handshake:
		return "handshake"
	case HandshakeAck:
		return "handshake-ack"
	case Heartbeat:
		return "heartbeat"
	case Data:
		return "data"
	case Kick:
		return "kick"
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

func (t PacketType) valid() bool { return t >= Handshake && t <= Kick }

// AppendPacket appends a packet header and body to dst. A body longer than
// MaxBodyLen (ErrTooLarge) or an unknown type (ErrBadPacketType) is an error,
// since either would put bytes on the wire that no client can parse.
func AppendPacket(dst []byte, t PacketType, body []byte) ([]byte, error) {
	if !t.valid() {
		return dst, fmt.Errorf("%w: cannot encode type %d", ErrBadPacketType, byte(t))
	}
	if len(body) > MaxBodyLen {
		return dst, fmt.Errorf("%w: body of %d bytes, the protocol allows at most %d", ErrTooLarge, len(body), MaxBodyLen)
	}
	n := len(body)
	dst = append(dst, byte(t), byte(n>>16), byte(n>>8), byte(n))
	return append(dst, body...), nil
}

// ParseHeader reads a 4-byte header: the packet type and the body length.
// An unknown type is ErrBadPacketType; fewer than 4 bytes wraps
// io.ErrUnexpectedEOF.
func ParseHeader(h []byte) (PacketType, int, error) {
	if len(h) < HeaderLen {
		return 0, 0, fmt.Errorf("protocol: packet header needs %d bytes, got %d: %w", HeaderLen, len(h), io.ErrUnexpectedEOF)
	}
	t := PacketType(h[0])
	if !t.valid() {
		return 0, 0, fmt.Errorf("%w: first header byte is %#02x", ErrBadPacketType, h[0])
	}
	return t, int(h[1])<<16 | int(h[2])<<8 | int(h[3]), nil
}

// checkLen is the one place the limit is enforced, so the reader and
// SplitPackets word the error the same way.
func checkLen(t PacketType, n, max int) error {
	if n > max {
		return fmt.Errorf("%w: %s packet header claims %d bytes, the limit is %d", ErrTooLarge, t, n, max)
	}
	return nil
}

// SplitPackets parses every packet in b — one WebSocket message may carry
// several, as Pomelo's client batches them — and calls fn for each in order.
// Bodies alias b. Every header is checked (type, length against max, an
// incomplete trailing packet) before fn is first called, so fn never sees
// part of a message that is then rejected. An error from fn stops the walk
// and is returned as is.
func SplitPackets(b []byte, max int, fn func(PacketType, []byte) error) error {
	for rest := b; len(rest) > 0; {
		t, n, err := ParseHeader(rest)
		if err != nil {
			return fmt.Errorf("protocol: packet at offset %d: %w", len(b)-len(rest), err)
		}
		if err := checkLen(t, n, max); err != nil {
			return err
		}
		if len(rest)-HeaderLen < n {
			return fmt.Errorf("protocol: %s packet at offset %d claims %d bytes, only %d follow: %w",
				t, len(b)-len(rest), n, len(rest)-HeaderLen, io.ErrUnexpectedEOF)
		}
		rest = rest[HeaderLen+n:]
	}
	for len(b) > 0 {
		t := PacketType(b[0])
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		end := HeaderLen + n
		// The full slice expression keeps fn from appending into the next packet.
		if err := fn(t, b[HeaderLen:end:end]); err != nil {
			return err
		}
		b = b[end:]
	}
	return nil
}
