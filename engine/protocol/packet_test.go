package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestAppendPacketGolden(t *testing.T) {
	tests := []struct {
		typ  PacketType
		body []byte
		want []byte
	}{
		{Handshake, []byte(`{}`), hx("01 000002 7b7d")},
		{HandshakeAck, nil, hx("02 000000")},
		{Heartbeat, nil, hx("03 000000")},
		{Data, []byte("ab"), hx("04 000002 6162")},
		{Kick, []byte(`{"reason":"x"}`), append(hx("05 00000e"), `{"reason":"x"}`...)},
		{Data, make([]byte, 0x010203), append(hx("04 010203"), make([]byte, 0x010203)...)},
		{Data, make([]byte, MaxBodyLen), append(hx("04 ffffff"), make([]byte, MaxBodyLen)...)},
	}
	for _, tt := range tests {
		got, err := AppendPacket(hx("aa"), tt.typ, tt.body)
		if err != nil {
			t.Errorf("AppendPacket(%v, %d bytes): %v", tt.typ, len(tt.body), err)
			continue
		}
		if want := append(hx("aa"), tt.want...); !bytes.Equal(got, want) {
			t.Errorf("AppendPacket(%v, %d bytes) = % x…, want % x…", tt.typ, len(tt.body), head(got), head(want))
		}
		typ, n, err := ParseHeader(got[1:])
		if err != nil || typ != tt.typ || n != len(tt.body) {
			t.Errorf("ParseHeader(% x) = %v, %d, %v; want %v, %d, nil", got[1:5], typ, n, err, tt.typ, len(tt.body))
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 16)] }

func TestAppendPacketErrors(t *testing.T) {
	tests := []struct {
		typ  PacketType
		n    int
		want error
	}{
		{Data, MaxBodyLen + 1, ErrTooLarge},
		{0, 0, ErrBadPacketType},
		{6, 0, ErrBadPacketType},
		{255, 1, ErrBadPacketType},
	}
	for _, tt := range tests {
		dst := []byte{9}
		got, err := AppendPacket(dst, tt.typ, make([]byte, tt.n))
		if !errors.Is(err, tt.want) {
			t.Errorf("AppendPacket(type %d, %d bytes) error = %v, want %v", byte(tt.typ), tt.n, err, tt.want)
		}
		if !bytes.Equal(got, dst) {
			t.Errorf("AppendPacket(type %d, %d bytes) changed dst on error: % x", byte(tt.typ), tt.n, head(got))
		}
	}
}

func TestParseHeaderErrors(t *testing.T) {
	tests := []struct {
		in   []byte
		want error
	}{
		{nil, io.ErrUnexpectedEOF},
		{hx("04 0000"), io.ErrUnexpectedEOF},
		{hx("00 000000"), ErrBadPacketType},
		{hx("06 000000"), ErrBadPacketType},
		{[]byte("GET "), ErrBadPacketType},
	}
	for _, tt := range tests {
		if _, _, err := ParseHeader(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("ParseHeader(% x) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

type packet struct {
	t    PacketType
	body string
}

func TestSplitPackets(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    []packet
		wantErr error
	}{
		{"empty", nil, 100, nil, nil},
		{"one", hx("04 000002 6162"), 100, []packet{{Data, "ab"}}, nil},
		{"batch as Pomelo's client sends", hx("03 000000 04 000001 61 04 000000 05 000002 7b7d"), 100,
			[]packet{{Heartbeat, ""}, {Data, "a"}, {Data, ""}, {Kick, "{}"}}, nil},
		{"body exactly max", hx("04 000003 616263"), 3, []packet{{Data, "abc"}}, nil},
		{"over max", hx("04 000004 61626364"), 3, nil, ErrTooLarge},
		{"over max before any data", hx("04 ffffff"), 1 << 16, nil, ErrTooLarge},
		{"bad type", hx("07 000000"), 100, nil, ErrBadPacketType},
		{"bad type after good", hx("04 000001 61 00 000000"), 100, nil, ErrBadPacketType},
		{"trailing half header", hx("04 000001 61 04 00"), 100, nil, io.ErrUnexpectedEOF},
		{"trailing half body", hx("04 000001 61 04 000003 6162"), 100, nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		var got []packet
		err := SplitPackets(tt.in, tt.max, func(pt PacketType, b []byte) error {
			got = append(got, packet{pt, string(b)})
			return nil
		})
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: SplitPackets(% x) error = %v, want %v", tt.name, tt.in, err, tt.wantErr)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: SplitPackets(% x) called fn with %v, want %v (fn must not run when the message is rejected)", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestSplitPacketsCallbackError(t *testing.T) {
	errStop := errors.New("stop")
	calls := 0
	err := SplitPackets(hx("03 000000 03 000000 03 000000"), 10, func(PacketType, []byte) error {
		calls++
		if calls == 2 {
			return errStop
		}
		return nil
	})
	if err != errStop || calls != 2 {
		t.Errorf("SplitPackets with fn failing on call 2: err = %v after %d calls, want errStop after 2", err, calls)
	}
}

func TestSplitPacketsBodyCannotClobberNext(t *testing.T) {
	in := hx("04 000001 61 04 000001 62")
	var bodies [][]byte
	_ = SplitPackets(in, 10, func(_ PacketType, b []byte) error {
		if cap(b) != len(b) {
			t.Errorf("body % x has cap %d, want %d", b, cap(b), len(b))
		}
		bodies = append(bodies, append(b, 'X'))
		return nil
	})
	if string(bodies[1]) != "bX" || !bytes.Equal(in, hx("04 000001 61 04 000001 62")) {
		t.Errorf("appending to a body changed the input: % x, bodies %q", in, bodies)
	}
}
