// Package freeport finds loopback ports for tests that run real servers, so
// that parallel test runs (and a developer's own cluster) do not clash.
package freeport

import (
	"errors"
	"net"
	"strconv"
)

// Offset returns a port offset at which every one of ports is free on
// 127.0.0.1, for --port-offset. It starts from ports the kernel hands out,
// which are spread over the ephemeral range.
func Offset(ports ...int) (int, error) {
	if len(ports) == 0 {
		return 0, errors.New("freeport: no ports")
	}
	lo, hi := ports[0], ports[0]
	for _, p := range ports {
		lo, hi = min(lo, p), max(hi, p)
	}
	for range 2000 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		off := port - lo
		if off < 0 || hi+off > 65000 {
			continue
		}
		if allFree(ports, off) {
			return off, nil
		}
	}
	return 0, errors.New("freeport: no offset at which every port is free")
}

func allFree(ports []int, off int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+off))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
