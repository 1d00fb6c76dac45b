package server

import "strings"

// clientRoutes are the routes a server's requests are counted by: every
// handler route of the cluster on a frontend, which forwards those of
// other types, and a backend's own type's.
func clientRoutes(p *Plan) []string {
	all := HandlerRoutes(p.Topology, p.App)
	if p.Server.Frontend {
		return all
	}
	var own []string
	for _, r := range all {
		if typ, _, _ := strings.Cut(r, "."); typ == p.Server.Type {
			own = append(own, r)
		}
	}
	return own
}

// sizes are the members of each local channel, for /metrics.
func (cs *Channels) sizes() map[string]int {
	cs.mu.Lock()
	list := make([]*Channel, 0, len(cs.m))
	for _, ch := range cs.m {
		list = append(list, ch)
	}
	cs.mu.Unlock()
	out := make(map[string]int, len(list))
	for _, ch := range list {
		ch.mu.Lock()
		out[ch.name] = len(ch.members)
		ch.mu.Unlock()
	}
	return out
}

// heldSizes are, on a frontend, the members of each global channel that
// are connected to it, for /metrics; nil without global channels.
func (g *GlobalChannels) heldSizes() map[string]int {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for _, names := range g.held {
		for name := range names {
			out[name]++
		}
	}
	return out
}

// Push pushes msg on route to the session's client, counted in the
// server's metrics like the pushes that come through the cluster.
func (s *FrontendSession) Push(route string, msg any) error {
	err := s.Session.Push(route, msg)
	if err == nil {
		s.sv.metrics.Pushed(route, 1)
	}
	return err
}
