package protocol

import (
	"errors"
	"fmt"
	"io"
)

const (
	// readStep bounds what one header can make the reader allocate ahead of
	// the data actually arriving: a body larger than this grows the buffer as
	// bytes come in, so a peer that sends a 4-byte header claiming the limit
	// and then stalls costs readStep, not the limit.
	readStep = 64 << 10
	// keepCap is the largest buffer kept between packets; one big message
	// must not pin its size in every idle connection.
	keepCap = 64 << 10
)

// PacketReader reads packets from a stream: a TCP connection, or the
// concatenated payloads of WebSocket binary frames. Give it a buffered
// reader; it reads the header and the body with separate calls.
//
// It is not safe for concurrent use.
type PacketReader struct {
	r   io.Reader
	max int
	hdr [HeaderLen]byte
	buf []byte
}

// NewPacketReader returns a reader that refuses bodies longer than max
// bytes (capped at MaxBodyLen, which is all a header can express anyway).
func NewPacketReader(r io.Reader, max int) *PacketReader {
	return &PacketReader{r: r, max: max}
}

// Next returns the next packet. The body is valid until the next call.
//
// The length in the header is checked against the limit before anything is
// allocated (ErrTooLarge). At a packet boundary the end of the stream is
// io.EOF itself; inside a packet it is an error wrapping
// io.ErrUnexpectedEOF. Other read errors are wrapped.
func (r *PacketReader) Next() (PacketType, []byte, error) {
	if cap(r.buf) > keepCap {
		r.buf = nil
	}
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		switch {
		case err == io.EOF:
			return 0, nil, io.EOF
		case errors.Is(err, io.ErrUnexpectedEOF):
			return 0, nil, fmt.Errorf("protocol: stream ended inside a packet header: %w", err)
		}
		return 0, nil, fmt.Errorf("protocol: reading a packet header: %w", err)
	}
	t, n, err := ParseHeader(r.hdr[:])
	if err != nil {
		return 0, nil, err
	}
	if err := checkLen(t, n, r.max); err != nil {
		return 0, nil, err
	}
	body, err := r.readBody(n)
	if err != nil {
		return 0, nil, fmt.Errorf("protocol: reading a %d-byte %s packet body: %w", n, t, err)
	}
	return t, body, nil
}

// readBody reads exactly n bytes into the reused buffer.
func (r *PacketReader) readBody(n int) ([]byte, error) {
	if n <= cap(r.buf) {
		b := r.buf[:n:n]
		if _, err := io.ReadFull(r.r, b); err != nil {
			return nil, bodyErr(err)
		}
		return b, nil
	}
	b := r.buf[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, max(2*cap(b), readStep)))
			copy(nb, b)
			b = nb
			r.buf = b
		}
		m, err := io.ReadFull(r.r, b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, bodyErr(err)
		}
	}
	r.buf = b
	return b[:n:n], nil
}

// bodyErr turns a clean EOF into ErrUnexpectedEOF: the header promised more.
func bodyErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
