package protocol

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

// countingReader counts what the reader under test consumed.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestPacketReaderStream(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 30000) // 300 kB: several growth steps
	var in []byte
	want := []packet{{Handshake, `{"sys":{}}`}, {HandshakeAck, ""}, {Data, string(big)}, {Heartbeat, ""}, {Data, "ab"}}
	for _, p := range want {
		in, _ = AppendPacket(in, p.t, []byte(p.body))
	}
	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(in),
		"one byte": iotest.OneByteReader(bytes.NewReader(in)),
		"half":     iotest.HalfReader(bytes.NewReader(in)),
	} {
		pr := NewPacketReader(r, 1<<20)
		for i, w := range want {
			typ, body, err := pr.Next()
			if err != nil || typ != w.t || string(body) != w.body {
				t.Fatalf("%s: packet %d = %v, %d bytes, %v; want %v, %d bytes, nil", name, i, typ, len(body), err, w.t, len(w.body))
			}
		}
		if _, _, err := pr.Next(); err != io.EOF {
			t.Errorf("%s: Next at the end = %v, want io.EOF itself", name, err)
		}
	}
}

func TestPacketReaderErrors(t *testing.T) {
	errNet := errors.New("connection reset")
	tests := []struct {
		name string
		r    io.Reader
		max  int
		want error
	}{
		{"half header", bytes.NewReader(hx("04 00")), 100, io.ErrUnexpectedEOF},
		{"header only", bytes.NewReader(hx("04 000002")), 100, io.ErrUnexpectedEOF},
		{"half body", bytes.NewReader(hx("04 000002 61")), 100, io.ErrUnexpectedEOF},
		{"type 0", bytes.NewReader(hx("00 000000")), 100, ErrBadPacketType},
		{"HTTP on the TCP port", bytes.NewReader([]byte("GET / HTTP/1.1\r\n")), 100, ErrBadPacketType},
		{"over max", bytes.NewReader(hx("04 000065")), 100, ErrTooLarge},
		{"io error in header", io.MultiReader(bytes.NewReader(hx("04")), iotest.ErrReader(errNet)), 100, errNet},
		{"io error in body", io.MultiReader(bytes.NewReader(hx("04 000002 61")), iotest.ErrReader(errNet)), 100, errNet},
	}
	for _, tt := range tests {
		_, _, err := NewPacketReader(tt.r, tt.max).Next()
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Next() error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// A header claiming 16 MiB against a 64 KiB limit is refused after reading
// the 4 header bytes, without allocating anything of the claimed size.
func TestPacketReaderTooLargeReadsOnlyHeader(t *testing.T) {
	in := append(hx("04 ffffff"), make([]byte, 1<<20)...)
	cr := &countingReader{r: bytes.NewReader(in)}
	pr := NewPacketReader(cr, 64<<10)
	before := totalAlloc()
	_, _, err := pr.Next()
	allocated := totalAlloc() - before
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Next() over a 16 MiB header with a 64 KiB limit: error = %v, want ErrTooLarge", err)
	}
	if cr.n != HeaderLen {
		t.Errorf("Next() read %d bytes before refusing, want %d (the header only)", cr.n, HeaderLen)
	}
	if !raceEnabled && allocated > 4<<10 {
		t.Errorf("Next() allocated %d bytes before refusing, want next to nothing", allocated)
	}
}

// Within the limit, a header alone does not buy its length in memory: the
// buffer grows as the body arrives.
func TestPacketReaderStalledBigHeader(t *testing.T) {
	in := append(hx("04 ffffff"), make([]byte, 100)...)
	pr := NewPacketReader(bytes.NewReader(in), MaxBodyLen)
	before := totalAlloc()
	_, _, err := pr.Next()
	allocated := totalAlloc() - before
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Next() on a 16 MiB header followed by 100 bytes: error = %v, want io.ErrUnexpectedEOF", err)
	}
	if !raceEnabled && allocated > 2*readStep {
		t.Errorf("Next() allocated %d bytes for a body of which 100 arrived, want at most %d", allocated, 2*readStep)
	}
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func TestPacketReaderReusesBuffer(t *testing.T) {
	var in []byte
	for range 3 {
		in, _ = AppendPacket(in, Data, []byte("hello"))
	}
	pr := NewPacketReader(bytes.NewReader(in), 100)
	_, b1, _ := pr.Next()
	p1 := &b1[0]
	_, b2, _ := pr.Next()
	if &b2[0] != p1 {
		t.Errorf("second body does not reuse the first one's buffer")
	}
	if cap(b2) != len(b2) {
		t.Errorf("body cap %d, want %d so appends cannot touch the reader's buffer", cap(b2), len(b2))
	}
}

func TestPacketReaderDropsBigBuffer(t *testing.T) {
	var in []byte
	in, _ = AppendPacket(in, Data, make([]byte, 2*keepCap))
	in, _ = AppendPacket(in, Data, []byte("x"))
	pr := NewPacketReader(bytes.NewReader(in), MaxBodyLen)
	if _, _, err := pr.Next(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pr.Next(); err != nil {
		t.Fatal(err)
	}
	if cap(pr.buf) > keepCap {
		t.Errorf("after a %d-byte packet and a 1-byte one the reader keeps %d bytes, want at most %d", 2*keepCap, cap(pr.buf), keepCap)
	}
}

// loopReader serves b over and over, for benchmarks and allocation counts.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

func TestPacketReaderNoAllocs(t *testing.T) {
	skipAllocsUnderRace(t)
	pkt, _ := AppendPacket(nil, Data, hx("00 01 03 612e62 7b7d"))
	pr := NewPacketReader(&loopReader{b: pkt}, 1024)
	if _, _, err := pr.Next(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _, _ = pr.Next() }); n != 0 {
		t.Errorf("Next() on a warm reader: %v allocations, want 0", n)
	}
}
