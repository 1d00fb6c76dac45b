package topology

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ClusterIDPrefix starts the ids Pomelo gives servers of a clusterCount group:
// cluster-server-<type>-<n>, n counting from 0 across all groups of the type.
const ClusterIDPrefix = "cluster-server-"

// MaxClusterCount bounds one cluster group: far more processes than one host runs,
// and few enough that a typo (count: 100000) is caught rather than obeyed.
const MaxClusterCount = 4096

// expand turns each type's instances and cluster groups into Servers, with the port
// offset applied to every port of the cluster.
func (l *loader) expand(t *Topology) {
	off := t.PortOffset
	t.Master.Port = l.offsetPort(t.Master.Port, off, t.Master.At.Of("port"), "master.port")
	if t.HA != nil {
		for i := range t.HA.Standbys {
			s := &t.HA.Standbys[i]
			s.Port = l.offsetPort(s.Port, off, s.At.Of("port"), fmt.Sprintf("ha.standbys[%d].port", i))
		}
	}
	for _, st := range t.Types {
		path := "servers." + st.Name
		for i, in := range st.Instances {
			ipath := fmt.Sprintf("%s.instances[%d]", path, i)
			s := l.server(st, in.Host, in.ClientHost, in.CPU, in.Restart, in.Settings, in.At)
			s.ID = in.ID
			s.Token = or2(in.Token, t.Master.Tokens[st.Name])
			s.Port = l.offsetPort(in.Port, off, in.At.Of("port"), ipath+".port")
			s.ClientPort = l.offsetPort(in.ClientPort, off, in.At.Of("clientPort"), ipath+".clientPort")
			st.Servers = append(st.Servers, s)
		}
		seq := 0
		for i, c := range st.Clusters {
			cpath := fmt.Sprintf("%s.cluster[%d]", path, i)
			l.checkRange(c.Port, c.Count, off, c.At.Of("port"), cpath+".port")
			l.checkRange(c.ClientPort, c.Count, off, c.At.Of("clientPort"), cpath+".clientPort")
			for n := range min(max(c.Count, 0), MaxClusterCount) {
				s := l.server(st, c.Host, c.ClientHost, c.CPU, c.Restart, c.Settings, c.At)
				s.ID = fmt.Sprintf("%s%s-%d", ClusterIDPrefix, st.Name, seq)
				s.Token = t.Master.Tokens[st.Name]
				if c.Port.Base != 0 {
					s.Port = c.Port.At(n) + off
				}
				if c.ClientPort.Base != 0 {
					s.ClientPort = c.ClientPort.At(n) + off
				}
				st.Servers = append(st.Servers, s)
				seq++
			}
		}
	}
}

// server makes a Server of type st from what its instance or group declares.
func (l *loader) server(st *ServerType, host, clientHost string, cpu *CPUSet, restart *Restart, settings map[string]any, at Positions) *Server {
	s := &Server{
		Type:     st.Name,
		Host:     or(host, DefaultHost),
		Frontend: st.Frontend,
		CPU:      st.CPU,
		Restart:  st.Restart,
		Pos:      at.Self,
		idPos:    at.Of("id"),
		cpuPos:   st.At.Of("cpu"),
	}
	if st.Frontend {
		s.ClientHost = or(clientHost, s.Host)
	}
	s.Local = l.opts.Machine.IsLocal(s.Host)
	if cpu != nil {
		s.CPU, s.cpuPos = cpu, at.Of("cpu")
	}
	if restart != nil {
		s.Restart = withRestartDefaults(restart)
	}
	if len(st.Settings)+len(settings) > 0 {
		s.Settings = maps.Clone(st.Settings)
		if s.Settings == nil {
			s.Settings = map[string]any{}
		}
		maps.Copy(s.Settings, settings)
	}
	return s
}

// offsetPort shifts a declared port (0: none declared) and checks the result.
func (l *loader) offsetPort(port, off int, pos Pos, path string) int {
	if port == 0 {
		return 0
	}
	p := port + off
	if p < 1 || p > 65535 {
		msg := fmt.Sprintf("port %d is out of range", port)
		if off != 0 {
			msg = fmt.Sprintf("port %d shifted by portOffset %d gives %d, which is out of range", port, off, p)
		}
		l.errs.add(pos, path, msg, "write a port between 1 and 65535")
	}
	return p
}

// checkRange checks every port an "N++" range gives a group of count servers.
func (l *loader) checkRange(r PortRange, count, off int, pos Pos, path string) {
	if r.Base == 0 && !r.Increment {
		return
	}
	first, last := r.At(0)+off, r.At(max(count-1, 0))+off
	switch {
	case first < 1 || first > 65535:
		l.errs.add(pos, path, fmt.Sprintf("port %s gives %d, which is out of range", r, first), "write a port between 1 and 65535")
	case last > 65535:
		l.errs.add(pos, path, fmt.Sprintf("%q for %d servers runs to port %d, past 65535", r.String(), count, last), fmt.Sprintf("start the range at %d or lower, or lower count", 65535-count+1-off))
	}
}

func or2(a, b Secret) Secret {
	if a.IsZero() {
		return b
	}
	return a
}

// crossCheck looks at every server together: ids and addresses must be unique and
// bound CPUs must exist.
func (l *loader) crossCheck(t *Topology) {
	type owner struct {
		id  string
		pos Pos
	}
	ids := map[string]owner{}
	addrs := map[string]owner{}
	claimID := func(id string, pos Pos, path string) {
		if first, dup := ids[id]; dup {
			l.errs.add(pos, path, fmt.Sprintf("server id %q is already used at %s", id, first.pos), "give every server (and master) its own id")
			return
		}
		ids[id] = owner{id, pos}
	}
	claimAddr := func(id, host string, port int, pos Pos, path string) {
		if port == 0 {
			return
		}
		key := fmt.Sprintf("%s:%d", canonicalHost(host), port)
		if first, dup := addrs[key]; dup {
			l.errs.add(pos, path, fmt.Sprintf("%s:%d is already taken by %s (%s)", host, port, first.id, first.pos), "give each server its own port on a host")
			return
		}
		addrs[key] = owner{id, pos}
	}
	m := t.Master
	claimID(m.ID, m.At.Of("id"), "master.id")
	claimAddr(m.ID, m.Host, m.Port, m.At.Of("port"), "master.port")
	if t.HA != nil {
		for i, s := range t.HA.Standbys {
			path := fmt.Sprintf("ha.standbys[%d]", i)
			claimID(s.ID, s.At.Of("id"), path+".id")
			claimAddr(s.ID, s.Host, s.Port, s.At.Of("port"), path+".port")
		}
	}
	cpus, cpuErr := l.opts.Machine.AllowedCPUs()
	warnedCPU := false
	for _, st := range t.Types {
		for _, s := range st.Servers {
			path := "servers." + st.Name + "[" + s.ID + "]"
			claimID(s.ID, s.idPos, path)
			claimAddr(s.ID, s.Host, s.Port, s.Pos, path+".port")
			claimAddr(s.ID, s.Host, s.ClientPort, s.Pos, path+".clientPort") // frontends listen on their host; clientHost is what clients are told
			if s.CPU == nil || !s.Local {
				continue
			}
			if cpuErr != nil {
				if !warnedCPU {
					l.warn(s.cpuPos, "%v", cpuErr)
					warnedCPU = true
				}
				continue
			}
			for _, c := range *s.CPU {
				if !slices.Contains(cpus, c) {
					l.errs.add(s.cpuPos, path+".cpu", fmt.Sprintf("CPU %d is not available on this machine (this process may use CPUs %s)", c, cpus), "bind to CPUs from "+cpus.String()+", or remove cpu")
					break
				}
			}
		}
	}
}

// canonicalHost makes the names of one loopback address compare equal.
func canonicalHost(h string) string {
	if strings.EqualFold(h, "localhost") {
		return "127.0.0.1"
	}
	return strings.ToLower(h)
}
