// Package freeport finds loopback ports for clusters that must not meet
// another: tests that run real servers, and pomeloctl smoke, so that
// parallel runs (and a developer's own cluster) do not clash.
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// floor is the lowest port Offset shifts a port to: Pomelo's default ports
// and its demos' are below it.
const floor = 10000

// Offset returns a port offset at which every one of ports is free on
// 127.0.0.1, for --port-offset. The shifted ports stay below the kernel's
// ephemeral range: the local ports of outgoing connections (and the many
// that linger in TIME_WAIT after a load test) are taken from that range, so
// a port below it that is free now stays free for the test.
//
// The shifted ports are all above the ports as given, and 10000 or more: a
// test never runs on its topology's own ports, nor on Pomelo's defaults (3005
// for the master), where a developer's cluster runs or may start while the
// test does.
func Offset(ports ...int) (int, error) {
	if len(ports) == 0 {
		return 0, errors.New("freeport: no ports")
	}
	lo, hi := ports[0], ports[0]
	for _, p := range ports {
		lo, hi = min(lo, p), max(hi, p)
	}
	// --port-offset shifts ports up: past the highest of them, to floor at least.
	first, last := max(hi-lo+1, floor-lo), ephemeralLow()-1-hi
	if last < first {
		return 0, errors.New("freeport: the ports do not fit below the ephemeral range")
	}
	for range 1000 {
		off := first + rand.IntN(last-first+1)
		if Free(ports, off) {
			return off, nil
		}
	}
	return 0, errors.New("freeport: no offset at which every port is free")
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}

// Free reports whether every one of ports, shifted by off, is free on
// 127.0.0.1.
func Free(ports []int, off int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+off))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
