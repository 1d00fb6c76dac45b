package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestOffset(t *testing.T) {
	ports := []int{3005, 3014, 6052}
	off, err := Offset(ports...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if p+off <= 1024 || p+off >= ephemeralLow() {
			t.Errorf("port %d+%d is outside the range below the ephemeral ports", p, off)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+off))
		if err != nil {
			t.Errorf("port %d: %v", p+off, err)
			continue
		}
		l.Close()
	}
	if _, err := Offset(); err == nil {
		t.Error("no ports: no error")
	}
	if _, err := Offset(1, 40000); err == nil {
		t.Error("ports wider than the range below the ephemeral ones: no error")
	}
}
