package topology

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
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
	// The master always has a port (3005 when none is written), so it always shifts.
	t.Master.Port = l.shiftPort(t.Master.Port, off, t.Master.At.Of("port"), "master.port")
	t.Master.HTTPPort = l.offsetPort(t.Master.HTTPPort, off, t.Master.At, "httpPort", "master")
	// Loopback unless written: what the endpoints tell (metrics) is not
	// for anyone who can reach the host.
	t.HTTP.Host = or(t.HTTP.Host, DefaultHost)
	if t.HA != nil {
		if len(t.HA.Zookeeper) == 1 && t.HA.Zookeeper[0] == "managed" {
			t.HA.Managed = true
			port := l.shiftPort(ManagedZookeeperPort, off, t.HA.At.Of("zookeeper"), "ha.zookeeper")
			t.HA.Zookeeper = StringList{"127.0.0.1:" + strconv.Itoa(port)}
		}
		for i := range t.HA.Standbys {
			s := &t.HA.Standbys[i]
			s.Port = l.offsetPort(s.Port, off, s.At, "port", fmt.Sprintf("ha.standbys[%d]", i))
			s.HTTPPort = l.offsetPort(s.HTTPPort, off, s.At, "httpPort", fmt.Sprintf("ha.standbys[%d]", i))
		}
	}
	l.expandWeb(t)
	if gc := t.GlobalChannel; gc != nil && gc.Redis == "managed" {
		gc.Managed = true
		port := l.shiftPort(ManagedRedisPort, off, gc.At.Of("redis"), "globalChannel.redis")
		gc.Redis = "127.0.0.1:" + strconv.Itoa(port)
	}
	for _, st := range t.Types {
		path := "servers." + st.Name
		for i, in := range st.Instances {
			if !in.At.Decoded() {
				continue
			}
			ipath := fmt.Sprintf("%s.instances[%d]", path, i)
			s := l.server(st, in.Host, in.ClientHost, in.CPU, in.Restart, in.Settings, in.At)
			s.Group = groupOf(t, st, in.Group, s.Host)
			s.ID = in.ID
			s.Token = or2(in.Token, t.Master.Tokens[st.Name])
			s.Port = l.offsetPort(in.Port, off, in.At, "port", ipath)
			s.ClientPort = l.offsetPort(in.ClientPort, off, in.At, "clientPort", ipath)
			s.HTTPPort = l.offsetPort(in.HTTPPort, off, in.At, "httpPort", ipath)
			st.Servers = append(st.Servers, s)
		}
		seq := 0
		for i, c := range st.Clusters {
			if !c.At.Decoded() {
				continue
			}
			cpath := fmt.Sprintf("%s.cluster[%d]", path, i)
			l.checkRange(c.Port, c.Count, off, c.At, "port", cpath)
			l.checkRange(c.ClientPort, c.Count, off, c.At, "clientPort", cpath)
			l.checkRange(c.HTTPPort, c.Count, off, c.At, "httpPort", cpath)
			for n := range min(max(c.Count, 0), MaxClusterCount) {
				s := l.server(st, c.Host, c.ClientHost, c.CPU, c.Restart, c.Settings, c.At)
				s.Group = groupOf(t, st, c.Group, s.Host)
				s.ID = fmt.Sprintf("%s%s-%d", ClusterIDPrefix, st.Name, seq)
				s.Token = t.Master.Tokens[st.Name]
				if c.At.Has("port") {
					s.Port = c.Port.At(n) + off
				}
				if c.At.Has("clientPort") {
					s.ClientPort = c.ClientPort.At(n) + off
				}
				if c.At.Has("httpPort") {
					s.HTTPPort = c.HTTPPort.At(n) + off
				}
				s.group = i + 1
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
		Restart:  withRestart(*st.Restart, restart),
		Pos:      at.Self,
		at:       at,
		cpuPos:   st.At.Of("cpu"),
	}
	if st.Frontend {
		s.ClientHost = or(clientHost, s.Host)
	}
	s.Local = l.opts.Machine.IsLocal(s.Host)
	if cpu != nil {
		s.CPU, s.cpuPos = cpu, at.Of("cpu")
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

// offsetPort shifts the port written as key (0 when it is not written) and checks
// the result.
func (l *loader) offsetPort(port, off int, at Positions, key, path string) int {
	if !at.Has(key) {
		return 0
	}
	return l.shiftPort(port, off, at.Of(key), path+"."+key)
}

func (l *loader) shiftPort(port, off int, pos Pos, path string) int {
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
func (l *loader) checkRange(r PortRange, count, off int, at Positions, key, path string) {
	if !at.Has(key) {
		return
	}
	first, last := r.At(0)+off, r.At(max(count-1, 0))+off
	shifted := ""
	if off != 0 {
		shifted = fmt.Sprintf(" shifted by portOffset %d", off)
	}
	switch {
	case first < 1 || first > 65535:
		l.errs.add(at.Of(key), path+"."+key, fmt.Sprintf("port %s%s is out of range", r, shifted), "write a port between 1 and 65535")
	case last > 65535:
		l.errs.add(at.Of(key), path+"."+key, fmt.Sprintf("%q%s for %d servers runs to port %d, past 65535", r.String(), shifted, count, last), fmt.Sprintf("start the range at %d or lower, or lower count", 65535-count+1-off))
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
		id    string
		where string // "file:line:col", or what stands for a default
		group Pos    // the cluster group, for servers of one
		key   string // which of its ports: port, clientPort, httpPort
	}
	ids := map[string]owner{}
	addrs := map[string]owner{}
	claimID := func(id string, pos Pos, path string, o owner) {
		if id == "" {
			return
		}
		if first, dup := ids[id]; dup {
			l.errs.add(pos, path, fmt.Sprintf("id %q is already used by %s", id, first.where), "give every server (and master) its own id")
			return
		}
		ids[id] = o
	}
	claimAddr := func(host string, port int, pos Pos, path string, o owner) {
		if port < 1 || port > 65535 {
			return // out of range, reported where it was written
		}
		key := fmt.Sprintf("%s:%d", canonicalHost(host), port)
		first, dup := addrs[key]
		o.key = path[strings.LastIndexByte(path, '.')+1:]
		switch {
		case !dup:
			addrs[key] = o
		case first.where == o.where && first.key == "port" && o.key == "clientPort":
			l.errs.add(pos, path, fmt.Sprintf("%s's port and clientPort are both %d", o.id, port), "give the server's RPC port and client port different numbers")
		case first.where == o.where:
			l.errs.add(pos, path, fmt.Sprintf("%s's %s and %s are both %d", o.id, first.key, o.key, port), "give each of its ports its own number")
		case first.group == o.group && o.group != (Pos{}):
			l.errs.add(pos, path, fmt.Sprintf("every server of this cluster group gets port %d on %s", port, host), fmt.Sprintf(`write "%d++" so that each server gets its own`, port))
		default:
			l.errs.add(pos, path, fmt.Sprintf("%s:%d is already taken by %s", host, port, first.where), "give each server its own port on a host")
		}
	}
	m := t.Master
	master := owner{id: m.ID, where: "the master (" + m.At.Of("id").String() + ")"}
	if !m.At.Has("id") {
		master.where = "the master (master.id is not written: " + DefaultMasterID + " is the default)"
	}
	claimID(m.ID, m.At.Of("id"), "master.id", master)
	master.where = "the master (" + m.At.Of("port").String() + ")"
	if !m.At.Has("port") {
		master.where = fmt.Sprintf("the master (master.port is not written: %d is the default)", DefaultMasterPort)
	}
	claimAddr(m.Host, m.Port, m.At.Of("port"), "master.port", master)
	claimAddr(m.Host, m.HTTPPort, m.At.Of("httpPort"), "master.httpPort", master)
	if t.HA != nil {
		for i, s := range t.HA.Standbys {
			path := fmt.Sprintf("ha.standbys[%d]", i)
			o := owner{id: s.ID, where: fmt.Sprintf("standby %s (%s)", s.ID, s.At.Self)}
			claimID(s.ID, s.At.Of("id"), path+".id", o)
			claimAddr(s.Host, s.Port, s.At.Of("port"), path+".port", o)
			claimAddr(s.Host, s.HTTPPort, s.At.Of("httpPort"), path+".httpPort", o)
		}
	}
	l.checkMasterHosts(t)
	l.checkHTTPHost(t)
	cpus, cpuErr := l.opts.Machine.AllowedCPUs()
	warnedCPU := false
	for _, st := range t.Types {
		for _, s := range st.Servers {
			path := "servers." + st.Name + "[" + s.ID + "]"
			o := owner{id: s.ID, where: fmt.Sprintf("%s (%s)", s.ID, s.Pos)}
			if s.group > 0 {
				o.group = s.Pos
			}
			claimID(s.ID, s.at.Of("id"), path+".id", o)
			claimAddr(s.Host, s.Port, s.at.Of("port"), path+".port", o)
			// A frontend listens on its host; clientHost is only what clients are told.
			claimAddr(s.Host, s.ClientPort, s.at.Of("clientPort"), path+".clientPort", o)
			// The HTTP endpoint listens on http.host, on the server's machine.
			claimAddr(s.Host, s.HTTPPort, s.at.Of("httpPort"), path+".httpPort", o)
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
					l.errs.add(s.cpuPos, path+".cpu", fmt.Sprintf("CPU %d is not available on this machine", c), "bind to CPUs this process may use ("+cpus.String()+"), or remove cpu")
					break
				}
			}
		}
	}
	if w := t.Web; w != nil {
		// Claimed last, so that a clash is reported at web.port.
		claimAddr(w.Host, w.Port, w.At.Of("port"), "web.port", owner{id: "the web server", where: "the web server (" + w.At.Of("port").String() + ")"})
	}
}

// checkMasterHosts refuses servers on loopback when the masters run on
// several hosts, one of them reached by a real address: loopback then
// names another machine for each master, and a leader would take a server
// on another host for one of its own (launch it here, signal the wrong
// pid). Masters on several loopback addresses are one machine.
func (l *loader) checkMasterHosts(t *Topology) {
	if t.HA == nil {
		return
	}
	hosts := []string{canonicalHost(t.Master.Host)}
	for _, sb := range t.HA.Standbys {
		if h := canonicalHost(sb.Host); !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) < 2 || !slices.ContainsFunc(hosts, func(h string) bool { return !loopback(h) }) {
		return
	}
	for _, st := range t.Types {
		for _, s := range st.Servers {
			if !loopback(s.Host) {
				continue
			}
			pos, host := s.at.Of("host"), s.Host
			if !s.at.Has("host") {
				pos, host = s.Pos, host+" (the default)"
			}
			l.errs.add(pos, "servers."+st.Name+"["+s.ID+"].host",
				fmt.Sprintf("%s's host is %s, loopback, but the masters run on several hosts (%s): each would take it for one of its own", s.ID, host, strings.Join(hosts, ", ")),
				"write the address of the host it runs on")
		}
	}
}

// checkHTTPHost refuses an http.host that not every endpoint's machine
// has: each server and master binds it on its own machine, so only
// loopback, every interface, or the one host they all run on will do.
func (l *loader) checkHTTPHost(t *Topology) {
	h := t.HTTP.Host
	if ip := net.ParseIP(h); loopback(h) || ip != nil && ip.IsUnspecified() {
		return
	}
	type endpoint struct{ id, host string }
	var eps []endpoint
	if t.Master.HTTPPort != 0 {
		eps = append(eps, endpoint{t.Master.ID, t.Master.Host})
	}
	if t.HA != nil {
		for _, sb := range t.HA.Standbys {
			if sb.HTTPPort != 0 {
				eps = append(eps, endpoint{sb.ID, sb.Host})
			}
		}
	}
	for _, s := range t.AllServers() {
		if s.HTTPPort != 0 {
			eps = append(eps, endpoint{s.ID, s.Host})
		}
	}
	for _, ep := range eps {
		if canonicalHost(ep.host) != canonicalHost(h) {
			l.errs.add(t.HTTP.At.Of("host"), "http.host",
				fmt.Sprintf("every HTTP endpoint listens on %s, on its own machine, but %s runs on %s", h, ep.id, ep.host),
				"write 127.0.0.1 (loopback, the default) or 0.0.0.0 (every interface)")
			return
		}
	}
}

// loopback reports a host that names this machine on every machine.
func loopback(h string) bool {
	ip := net.ParseIP(h)
	return h == "" || strings.EqualFold(h, "localhost") || ip != nil && ip.IsLoopback()
}

// canonicalHost makes the names of one loopback address compare equal.
func canonicalHost(h string) string {
	if strings.EqualFold(h, "localhost") {
		return "127.0.0.1"
	}
	return strings.ToLower(h)
}
