package rpc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A frame is a 4-byte big-endian length, then that many bytes: a kind byte
// and the kind's fields. Numbers are unsigned varints; strings are a varint
// length and the bytes.
//
//	hello   1  id (string)                      first frame of a dialer: who it is
//	call    2  seq, timeout, route (string), body...
//	                                            answered by a reply with the same seq; timeout is
//	                                            the caller's remaining deadline in ms (0: none)
//	notify  3  route (string), body...          not answered
//	reply   4  seq, status (1 byte), body...    status 0: body is the result; 2: refused, not run (stopping); 3: a code (uvarint) and the error's text; else the error's text
const (
	kindHello  byte = 1
	kindCall   byte = 2
	kindNotify byte = 3
	kindReply  byte = 4
)

// MaxFrame bounds a frame, so that a broken or hostile peer cannot make a
// server allocate without limit.
const MaxFrame = 16 << 20

var errBadFrame = errors.New("rpc: malformed frame")

// frame is a decoded frame; body aliases the read buffer until the next read.
type frame struct {
	kind    byte
	seq     uint64
	timeout uint64 // ms, calls only
	route   string
	status  byte
	body    []byte
}

// A reply's status.
const (
	statusOK       = 0 // the body is the result
	statusFailed   = 1 // the body is the handler's error
	statusStopping = 2 // the call was refused, not run: the server is stopping
	statusCoded    = 3 // the body is the handler's error with its code: the code (uvarint), then the text
)

// appendFrame appends f, encoded, to b.
func appendFrame(b []byte, f *frame) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, f.kind)
	switch f.kind {
	case kindHello:
		b = appendString(b, f.route)
	case kindCall:
		b = binary.AppendUvarint(b, f.seq)
		b = binary.AppendUvarint(b, f.timeout)
		b = appendString(b, f.route)
	case kindNotify:
		b = appendString(b, f.route)
	case kindReply:
		b = binary.AppendUvarint(b, f.seq)
		b = append(b, f.status)
	}
	b = append(b, f.body...)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// readFrame reads one frame into buf (grown as needed) and decodes it. A
// route equal to prev is given as prev itself: a connection carries the
// same few routes over and over, and a string made per frame was one
// allocation more per call.
func readFrame(r *bufio.Reader, buf []byte, prev string) (frame, []byte, error) {
	// Peeked rather than read into an array: through io.ReadFull the
	// array would escape, an allocation per frame.
	head, err := r.Peek(4)
	if err != nil {
		if err == io.EOF && len(head) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return frame{}, buf, err
	}
	n := binary.BigEndian.Uint32(head)
	_, _ = r.Discard(4)
	if n < 1 || n > MaxFrame {
		return frame{}, buf, fmt.Errorf("%w: a frame of %d bytes (at most %d)", errBadFrame, n, MaxFrame)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return frame{}, buf, err
	}
	f, err := decodeFrame(buf, prev)
	return f, buf, err
}

func decodeFrame(b []byte, prev string) (frame, error) {
	f := frame{kind: b[0]}
	p := b[1:]
	var err error
	switch f.kind {
	case kindHello:
		f.route, p, err = readString(p, prev)
	case kindCall:
		if f.seq, p, err = readUvarint(p); err == nil {
			if f.timeout, p, err = readUvarint(p); err == nil {
				f.route, p, err = readString(p, prev)
			}
		}
	case kindNotify:
		f.route, p, err = readString(p, prev)
	case kindReply:
		if f.seq, p, err = readUvarint(p); err == nil {
			if len(p) == 0 {
				return f, errBadFrame
			}
			f.status, p = p[0], p[1:]
		}
	default:
		return f, fmt.Errorf("%w: unknown kind %d", errBadFrame, f.kind)
	}
	f.body = p
	return f, err
}

func readUvarint(p []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, p, errBadFrame
	}
	return v, p[n:], nil
}

// readString reads a string, which is prev if it has prev's bytes.
func readString(p []byte, prev string) (string, []byte, error) {
	n, p, err := readUvarint(p)
	if err != nil || n > uint64(len(p)) {
		return "", p, errBadFrame
	}
	if string(p[:n]) == prev {
		return prev, p[n:], nil
	}
	return string(p[:n]), p[n:], nil
}
