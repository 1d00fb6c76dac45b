package topology

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// AddSpec is a server to add to a running cluster (`pomeloctl add`): its
// type must be declared; what it leaves out is chosen.
type AddSpec struct {
	Type       string `json:"type"`
	ID         string `json:"id,omitempty"`         // default: <type>-server-<n>, the first n free
	Host       string `json:"host,omitempty"`       // default: the host of the type's first server
	Port       int    `json:"port,omitempty"`       // default: past the type's highest port (required of backends without servers to count from)
	ClientPort int    `json:"clientPort,omitempty"` // frontends; default: past the type's highest client port
}

// NewServer makes the server spec describes, checked against every server of
// t as the loader checks a file: a free id and free ports on its host. Ports
// in spec are final (the port offset is not applied again). It does not add
// the server to t: see AddServer.
func (t *Topology) NewServer(spec AddSpec, m Machine) (*Server, error) {
	st := t.Types.Get(spec.Type)
	if st == nil {
		var names []string
		for _, st := range t.Types {
			names = append(names, st.Name)
		}
		return nil, fmt.Errorf("no server type %q in %s: the types are %s", spec.Type, t.File, strings.Join(names, ", "))
	}
	taken := t.takenAddrs()
	s := &Server{
		ID:       spec.ID,
		Type:     st.Name,
		Host:     spec.Host,
		Frontend: st.Frontend,
		Restart:  st.Restart,
		Token:    t.Master.Tokens[st.Name],
		Settings: maps.Clone(st.Settings),
	}
	if len(st.Servers) > 0 {
		first := st.Servers[0]
		s.Host = or(s.Host, first.Host)
		s.ClientHost = first.ClientHost
		if s.Host != first.Host {
			s.ClientHost = s.Host
		}
		s.Token = first.Token
		s.Restart = first.Restart
	}
	s.Host = or(s.Host, DefaultHost)
	if s.Frontend {
		s.ClientHost = or(s.ClientHost, s.Host)
	}
	s.Local = m.IsLocal(s.Host)
	s.Group = groupOf(t, st, "", s.Host)
	// The type's CPU binding was written for the servers the file declares,
	// which would share those CPUs with this one: an added server is not pinned.
	s.CPU = nil
	if s.ID == "" {
		for n := len(st.Servers) + 1; ; n++ {
			if id := fmt.Sprintf("%s-server-%d", st.Name, n); !t.idTaken(id) {
				s.ID = id
				break
			}
		}
	}
	if !serverID.MatchString(s.ID) {
		return nil, fmt.Errorf("%q is not a usable id: use letters, digits, '.', '_' and '-', e.g. %s-server-9", s.ID, st.Name)
	}
	if t.idTaken(s.ID) {
		return nil, fmt.Errorf("id %q is already used by another server of %s", s.ID, t.Name)
	}
	pick := func(want int, of func(*Server) int, what string, needed bool) (int, error) {
		if want != 0 {
			if want < 1 || want > 65535 {
				return 0, fmt.Errorf("%s %d is out of range: write a port between 1 and 65535", what, want)
			}
			if by, ok := taken[addrKey(s.Host, want)]; ok {
				return 0, fmt.Errorf("%s %s:%d is already taken by %s", what, s.Host, want, by)
			}
			return want, nil
		}
		highest := 0
		for _, o := range st.Servers {
			highest = max(highest, of(o))
		}
		if highest == 0 {
			if needed {
				return 0, fmt.Errorf("name the new server's %s: no server of type %s has one to count from", what, st.Name)
			}
			return 0, nil
		}
		for p := highest + 1; p <= 65535; p++ {
			if _, ok := taken[addrKey(s.Host, p)]; !ok {
				taken[addrKey(s.Host, p)] = s.ID
				return p, nil
			}
		}
		return 0, fmt.Errorf("no free %s above %d on %s", what, highest, s.Host)
	}
	var err error
	if s.Port, err = pick(spec.Port, func(o *Server) int { return o.Port }, "port", !s.Frontend); err != nil {
		return nil, err
	}
	if !s.Frontend {
		if spec.ClientPort != 0 {
			return nil, fmt.Errorf("type %s is a backend: its servers have no client port", st.Name)
		}
		return s, nil
	}
	if s.ClientPort, err = pick(spec.ClientPort, func(o *Server) int { return o.ClientPort }, "client port", true); err != nil {
		return nil, err
	}
	if s.ClientPort == s.Port {
		return nil, fmt.Errorf("port and client port are both %d: give them different numbers", s.Port)
	}
	return s, nil
}

// AddServer adds s (from NewServer) to its type's servers.
func (t *Topology) AddServer(s *Server) {
	st := t.Types.Get(s.Type)
	st.Servers = append(st.Servers, s)
}

// RemoveServer takes server id out of the topology; false when there is none.
func (t *Topology) RemoveServer(id string) bool {
	for _, st := range t.Types {
		if i := slices.IndexFunc(st.Servers, func(s *Server) bool { return s.ID == id }); i >= 0 {
			st.Servers = slices.Delete(st.Servers, i, i+1)
			return true
		}
	}
	return false
}

func (t *Topology) idTaken(id string) bool {
	return id == t.Master.ID || t.Server(id) != nil || t.HA != nil && slices.ContainsFunc(t.HA.Standbys, func(s Standby) bool { return s.ID == id })
}

// takenAddrs maps every host:port of the cluster to who holds it.
func (t *Topology) takenAddrs() map[string]string {
	taken := map[string]string{}
	for _, l := range t.Listeners() {
		taken[addrKey(l.Host, l.Port)] = l.Owner
	}
	return taken
}

func addrKey(host string, port int) string { return fmt.Sprintf("%s:%d", canonicalHost(host), port) }
