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
		if p+off < floor || p+off >= ephemeralLow() {
			t.Errorf("port %d+%d is outside the range from floor to the ephemeral ports", p, off)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+off))
		if err != nil {
			t.Errorf("port %d: %v", p+off, err)
			continue
		}
		l.Close()
	}
	// Never on the ports as given, where a developer's own cluster runs.
	for _, ports := range [][]int{ports, {12000, 12001, 15000}} {
		for range 100 {
			if off, err := Offset(ports...); err != nil || ports[0]+off <= ports[len(ports)-1] || ports[0]+off < floor {
				t.Fatalf("offset %d (%v) of %v: the shifted ports overlap the ports as given, or are below %d", off, err, ports, floor)
			}
		}
	}
	if _, err := Offset(); err == nil {
		t.Error("no ports: no error")
	}
	if _, err := Offset(1, 40000); err == nil {
		t.Error("ports wider than the range below the ephemeral ones: no error")
	}
}
