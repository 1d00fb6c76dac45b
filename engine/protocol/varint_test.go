package protocol

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestVarintGolden(t *testing.T) {
	tests := []struct {
		v    uint64
		want []byte
	}{
		{0, hx("00")},
		{1, hx("01")},
		{127, hx("7f")},
		{128, hx("80 01")},
		{300, hx("ac 02")},
		{16383, hx("ff 7f")},
		{16384, hx("80 80 01")},
		{1<<32 - 1, hx("ff ff ff ff 0f")},
		{1 << 32, hx("80 80 80 80 10")},
		{math.MaxUint64, hx("ff ff ff ff ff ff ff ff ff 01")},
	}
	for _, tt := range tests {
		got := AppendVarint(nil, tt.v)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("AppendVarint(%d) = % x, want % x", tt.v, got, tt.want)
		}
		v, n, err := ReadVarint(append(tt.want, 0xaa))
		if err != nil || v != tt.v || n != len(tt.want) {
			t.Errorf("ReadVarint(% x aa) = %d, %d, %v; want %d, %d, nil", tt.want, v, n, err, tt.v, len(tt.want))
		}
	}
}

func TestReadVarintErrors(t *testing.T) {
	tests := []struct {
		in   []byte
		want error
	}{
		{nil, errVarintTruncated},
		{hx("80"), errVarintTruncated},
		{hx("ff ff"), errVarintTruncated},
		{hx("80 00"), errVarintOverlong},                         // 0 padded to 2 bytes
		{hx("ff 80 00"), errVarintOverlong},                      // 127 padded
		{hx("ff ff ff ff ff ff ff ff ff 02"), errVarintOverlong}, // 65 bits
		{hx("ff ff ff ff ff ff ff ff ff 81 01"), errVarintOverlong},
		{hx("80 80 80 80 80 80 80 80 80 80 01"), errVarintOverlong}, // 11 bytes
	}
	for _, tt := range tests {
		if v, n, err := ReadVarint(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("ReadVarint(% x) = %d, %d, %v; want error %v", tt.in, v, n, err, tt.want)
		}
	}
}
