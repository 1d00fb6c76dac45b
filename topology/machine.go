package topology

import (
	"net"
	"os"
	"strings"
	"sync"
)

// Machine is what validation needs to know about the machine it runs on: which hosts
// are this machine (their servers are started here, and their CPUs checked here) and
// which CPUs this process may use.
type Machine interface {
	IsLocal(host string) bool
	AllowedCPUs() (CPUSet, error)
}

// ThisMachine is the machine the program runs on.
func ThisMachine() Machine { return &thisMachine{} }

type thisMachine struct {
	once  sync.Once
	addrs map[string]bool
}

// IsLocal reports whether host is a loopback address, localhost, this machine's
// name, or one of its interfaces' addresses. Names other than those are not
// resolved: a remote host's name must not turn local because DNS is slow or wrong.
func (m *thisMachine) IsLocal(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	m.once.Do(func() {
		m.addrs = map[string]bool{}
		if name, err := os.Hostname(); err == nil {
			m.addrs[strings.ToLower(name)] = true
		}
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				m.addrs[ipn.IP.String()] = true
			}
		}
	})
	if ip := net.ParseIP(host); ip != nil {
		return m.addrs[ip.String()]
	}
	return m.addrs[strings.ToLower(host)]
}

func (m *thisMachine) AllowedCPUs() (CPUSet, error) { return allowedCPUs() }

// MachineAs is this machine standing for host alone: only host (as the
// topology writes it) is local, and every other host, loopback addresses
// included, is another machine, reached over ssh. Tests run a cluster of
// several "hosts" on one machine with it (127.0.0.1, 127.0.0.2, ...); see
// $POMELOCTL_HOST in docs/testing.md.
func MachineAs(host string) Machine { return hostMachine(host) }

type hostMachine string

func (h hostMachine) IsLocal(host string) bool { return strings.EqualFold(host, string(h)) }

func (hostMachine) AllowedCPUs() (CPUSet, error) { return allowedCPUs() }
