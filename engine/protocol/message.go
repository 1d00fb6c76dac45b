package protocol

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MessageType is the kind of a message, bits 1–3 of its flag byte.
type MessageType byte

// The message types. Request and Response carry an id; Request, Notify and
// Push carry a route.
const (
	Request  MessageType = 0
	Notify   MessageType = 1
	Response MessageType = 2
	Push     MessageType = 3
)

// String names the message type for logs and errors.
func (t MessageType) String() string {
	switch t {
	case Request:
		return "request"
	case Notify:
		return "notify"
	case Response:
		return "response"
	case Push:
		return "push"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

func (t MessageType) hasID() bool    { return t == Request || t == Response }
func (t MessageType) hasRoute() bool { return t != Response }

// Flag byte layout.
const (
	flagRouteCode = 0x01 // route is a 2-byte dictionary code
	flagTypeShift = 1
	flagTypeMask  = 0x07
	// flagGzip is pomelo-protocol 0.1.x's MSG_COMPRESS_GZIP bit: the body is
	// gzip-compressed. See ErrCompressedBody for why it is refused.
	flagGzip = 0x10
	// flagReserved are bits no Pomelo client sets. (Pitaya servers use 0x20
	// to mark an error response; clients never send it.)
	flagReserved = 0xe0
)

// maxRouteLen is what the 1-byte route length can express.
const maxRouteLen = 255

// Message is the body of a Data packet.
type Message struct {
	Type  MessageType
	ID    uint64 // request and response only
	Route string // request, notify and push; empty for a response
	Body  []byte
	// RawID is the id as the client wrote it (DecodeMessage sets it; it aliases
	// the input). A response that carries it echoes those bytes instead of
	// encoding ID: Pomelo's browser build (pomelo@2.2.7's build.js) writes ids
	// high 7 bits first, where pomelo-protocol and other clients write them low
	// bits first, so id 128 arrives as 81 00. Echoing the bytes answers both
	// kinds of client with the id they sent.
	RawID []byte
}

var (
	// ErrBadMessage reports a Data packet body that is not a well-formed
	// message, or a Message that cannot be encoded.
	ErrBadMessage = errors.New("protocol: bad message")
	// ErrCompressedBody reports a message with the gzip flag (bit 4). It is
	// refused rather than inflated: Pomelo 2.2.7's own server ignores the
	// bit (it JSON-parses the raw body, which fails), so no Pomelo client
	// relies on it, and inflating hostile input would need its own limit
	// and a copy on the hot path. It wraps ErrBadMessage.
	ErrCompressedBody = fmt.Errorf("%w: gzip-compressed bodies (flag bit 4) are not supported", ErrBadMessage)
)

// RouteCodes maps routes to 2-byte codes and back. *Dictionary is the
// server's; a client implements it over the dict the server sent in its
// handshake. A nil *Dictionary is a valid RouteCodes that knows no route.
type RouteCodes interface {
	Code(route string) (uint16, bool)
	Route(code uint16) (string, bool)
}

// AppendMessage appends m encoded. The route is compressed to its 2-byte
// code (flag bit 0) when dict is not nil and knows it. A route over 255
// bytes that dict does not know, a route on a response, an id on a notify
// or push, or an unknown type is an error wrapping ErrBadMessage.
func AppendMessage(dst []byte, m *Message, dict RouteCodes) ([]byte, error) {
	t := m.Type
	if t > Push {
		return dst, fmt.Errorf("%w: cannot encode message type %d", ErrBadMessage, byte(t))
	}
	if !t.hasID() && m.ID != 0 {
		return dst, fmt.Errorf("%w: a %s carries no id, got %d", ErrBadMessage, t, m.ID)
	}
	if !t.hasRoute() && m.Route != "" {
		return dst, fmt.Errorf("%w: a response carries no route, got %q", ErrBadMessage, m.Route)
	}
	flag := byte(t) << flagTypeShift
	var code uint16
	if t.hasRoute() && dict != nil {
		var ok bool
		if code, ok = dict.Code(m.Route); ok {
			flag |= flagRouteCode
		}
	}
	if t.hasRoute() && flag&flagRouteCode == 0 {
		if len(m.Route) > maxRouteLen {
			return dst, fmt.Errorf("%w: route %.40q… is %d bytes, at most %d fit uncompressed", ErrBadMessage, m.Route, len(m.Route), maxRouteLen)
		}
		if !utf8.ValidString(m.Route) {
			return dst, fmt.Errorf("%w: route %q is not valid UTF-8", ErrBadMessage, m.Route)
		}
	}
	// One growth up front keeps encoding to at most one allocation.
	dst = slices.Grow(dst, 1+MaxVarintLen+1+len(m.Route)+len(m.Body))
	dst = append(dst, flag)
	switch {
	case t.hasID() && len(m.RawID) > 0:
		dst = append(dst, m.RawID...)
	case t.hasID():
		dst = AppendVarint(dst, m.ID)
	}
	if t.hasRoute() {
		if flag&flagRouteCode != 0 {
			dst = append(dst, byte(code>>8), byte(code))
		} else {
			dst = append(dst, byte(len(m.Route)))
			dst = append(dst, m.Route...)
		}
	}
	return append(dst, m.Body...), nil
}

// DecodeMessage decodes b. Body aliases b. A compressed route is looked up in
// dict; an inline route that dict knows shares dict's string instead of
// allocating one. Every malformation — empty input, reserved or gzip flag
// bits, unknown type, truncated or overlong id, a route running past the
// end or not UTF-8, a route code on a response, an unknown code or no
// dictionary — is an error wrapping ErrBadMessage that says which.
func DecodeMessage(b []byte, dict RouteCodes) (Message, error) {
	if d, ok := dict.(*Dictionary); ok && d == nil {
		dict = nil // so "no dictionary" is reported as such
	}
	if len(b) == 0 {
		return Message{}, fmt.Errorf("%w: empty, no flag byte", ErrBadMessage)
	}
	flag := b[0]
	if flag&flagReserved != 0 {
		return Message{}, fmt.Errorf("%w: flag byte %#02x has reserved bits set", ErrBadMessage, flag)
	}
	if flag&flagGzip != 0 {
		return Message{}, ErrCompressedBody
	}
	m := Message{Type: MessageType(flag >> flagTypeShift & flagTypeMask)}
	if m.Type > Push {
		return Message{}, fmt.Errorf("%w: unknown message type %d in flag byte %#02x", ErrBadMessage, byte(m.Type), flag)
	}
	off := 1
	if m.Type.hasID() {
		id, n, err := readID(b[off:])
		if err != nil {
			return Message{}, fmt.Errorf("%w: %s id: %w", ErrBadMessage, m.Type, err)
		}
		m.ID, m.RawID = id, b[off:off+n:off+n]
		off += n
	}
	switch {
	case !m.Type.hasRoute():
		if flag&flagRouteCode != 0 {
			return Message{}, fmt.Errorf("%w: a response has the route-code flag set", ErrBadMessage)
		}
	case flag&flagRouteCode != 0:
		if len(b)-off < 2 {
			return Message{}, fmt.Errorf("%w: %s route code needs 2 bytes, %d left", ErrBadMessage, m.Type, len(b)-off)
		}
		code := uint16(b[off])<<8 | uint16(b[off+1])
		off += 2
		if dict == nil {
			return Message{}, fmt.Errorf("%w: %s uses route code %d but no route dictionary is in use", ErrBadMessage, m.Type, code)
		}
		route, ok := dict.Route(code)
		if !ok {
			return Message{}, fmt.Errorf("%w: %s uses route code %d, which the dictionary does not know", ErrBadMessage, m.Type, code)
		}
		m.Route = route
	default:
		if len(b)-off < 1 {
			return Message{}, fmt.Errorf("%w: %s ends before its route length", ErrBadMessage, m.Type)
		}
		n := int(b[off])
		off++
		if len(b)-off < n {
			return Message{}, fmt.Errorf("%w: %s route of %d bytes runs past the end (%d left)", ErrBadMessage, m.Type, n, len(b)-off)
		}
		raw := b[off : off+n]
		off += n
		if !utf8.Valid(raw) {
			return Message{}, fmt.Errorf("%w: %s route %q is not valid UTF-8", ErrBadMessage, m.Type, raw)
		}
		m.Route = internRoute(raw, dict)
	}
	m.Body = b[off:len(b):len(b)]
	return m, nil
}

// internRoute returns raw as a string, reusing the dictionary's copy when it
// has one: most inline routes are handler routes, and this saves the one
// allocation a decode would otherwise make.
func internRoute(raw []byte, dict RouteCodes) string {
	if d, ok := dict.(*Dictionary); ok && d != nil {
		if code, ok := d.codes[string(raw)]; ok {
			return d.routes[code-1]
		}
	}
	return string(raw)
}

// readID reads a message id as pomelo-protocol does, low 7 bits first. Unlike
// ReadVarint it takes a trailing zero byte: that is how the browser build writes
// ids that are multiples of 128 (see Message.RawID), and the response echoes the
// bytes anyway.
func readID(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < MaxVarintLen; i++ {
		c := b[i]
		if i == MaxVarintLen-1 && c > 1 {
			return 0, 0, errVarintOverlong
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	if len(b) >= MaxVarintLen {
		return 0, 0, errVarintOverlong
	}
	return 0, 0, errVarintTruncated
}
