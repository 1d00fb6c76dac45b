package protocol

import "errors"

// MaxVarintLen is the longest varint ReadVarint accepts: 10 bytes carry 64 bits.
const MaxVarintLen = 10

var (
	errVarintTruncated = errors.New("varint truncated: the last byte still has its continuation bit set")
	errVarintOverlong  = errors.New("varint overlong: not in its shortest form or over 64 bits")
)

// AppendVarint appends v as Pomelo writes message ids: base 128, low 7 bits
// first, high bit set on every byte but the last.
func AppendVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// ReadVarint decodes a varint at the start of b and returns it with the
// number of bytes it took. Only the shortest encoding is accepted (as every
// Pomelo client writes): a padded varint would decode to the same id from
// different bytes, and more than 64 bits cannot be an id we sent.
func ReadVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b); i++ {
		if i == MaxVarintLen {
			return 0, 0, errVarintOverlong
		}
		c := b[i]
		if i == MaxVarintLen-1 && c > 1 {
			return 0, 0, errVarintOverlong
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, 0, errVarintOverlong
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errVarintTruncated
}
