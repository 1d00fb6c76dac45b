package gate

import "github.com/pomeloctl/pomeloctl/topology"

// EntriesOf lists the frontends of a topology's server type as the gate hands
// them out: clientHost (which defaults to host) and clientPort.
func EntriesOf(servers []*topology.Server) []Entry {
	out := make([]Entry, 0, len(servers))
	for _, s := range servers {
		if s.Frontend && s.ClientPort != 0 {
			out = append(out, Entry{ID: s.ID, Host: s.ClientHost, Port: s.ClientPort})
		}
	}
	return out
}
