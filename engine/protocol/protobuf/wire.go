package protobuf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// maxDepth bounds message nesting when encoding and decoding. Real protos
// nest a few levels; the bound keeps a self-referencing proto fed a cyclic
// Go value, or a hostile client's bytes, from exhausting the stack.
const maxDepth = 100

func appendVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// putVarint writes v into b, which is exactly varintLen(v) bytes long.
func putVarint(b []byte, v uint64) {
	for i := range b[:len(b)-1] {
		b[i] = byte(v) | 0x80
		v >>= 7
	}
	b[len(b)-1] = byte(v)
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

var (
	errTruncated     = errors.New("message ends in the middle of a value")
	errVarintTooLong = errors.New("varint longer than 10 bytes")
)

// reader walks a pomelo-protobuf message, checking every read against what
// is left, so that no input can make it read past the end or allocate more
// than the input could fill.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

// varint reads a base-128 varint. pomelo-protobuf reads any number of bytes
// into a double; ten bytes hold every value a 64-bit integer can, which is
// more than either of its encoders writes for a tag, a length or a count.
func (r *reader) varint() (uint64, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if r.off >= len(r.b) {
			return 0, errTruncated
		}
		c := r.b[r.off]
		r.off++
		if i == 9 && c > 1 {
			return 0, errVarintTooLong
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errVarintTooLong
}

// length reads a length prefix and checks that the rest of the input holds
// that many bytes.
func (r *reader) length() (int, error) {
	n, err := r.varint()
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()) {
		return 0, fmt.Errorf("length %d runs past the %d bytes left", n, r.remaining())
	}
	return int(n), nil
}

// count reads an element count and checks that the rest of the input could
// hold that many elements of at least size bytes each, before anything is
// allocated for them.
func (r *reader) count(size int) (int, error) {
	n, err := r.varint()
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()/size) {
		return 0, fmt.Errorf("count %d needs at least %d bytes each, %d bytes left", n, size, r.remaining())
	}
	return int(n), nil
}

func (r *reader) fixed32() (uint32, error) {
	if r.remaining() < 4 {
		return 0, errTruncated
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

func (r *reader) fixed64() (uint64, error) {
	if r.remaining() < 8 {
		return 0, errTruncated
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v, nil
}

func (r *reader) bytes(n int) []byte {
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

// zigzag is pomelo-protobuf's sInt32 (and int32) decoding, done on the full
// 64 bits read so that an oversized value reads as it does in JavaScript,
// within a double's precision.
func zigzag(u uint64) float64 {
	if u&1 == 1 {
		return -float64(u/2 + 1)
	}
	return float64(u / 2)
}

func float32From(bits uint32) float64 { return float64(math.Float32frombits(bits)) }
func float64From(bits uint64) float64 { return math.Float64frombits(bits) }
