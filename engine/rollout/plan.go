// Package rollout replaces a running cluster's servers with a new program
// or configuration group by group, as seed 003's release procedure does by
// hand: a group's frontends drain (the gates stop handing them out, their
// players play on) until they are empty or a deadline; its servers are
// restarted on the new version, backends one at a time so that their
// requests wait for them; the group must be healthy before it is undrained
// and the next begins; a group that is not is put back on what it ran.
// What to replace (pomeloctl diff) and talking to the master are the
// caller's: see Cluster.
package rollout

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Server is one server the rollout restarts, with what it must run after.
type Server struct {
	ID       string
	Type     string
	Group    string
	Frontend bool
	// Program and Config are the build and configuration digest it must
	// run once replaced ("" for a program whose version is not known).
	Program, Config string
}

// Group is the servers of one group the rollout restarts, in the order it
// restarts them: backends, then frontends.
type Group struct {
	Name    string
	Servers []Server
}

// NoGroup names the servers in no group, which go last.
const NoGroup = "(no group)"

// Frontends are the group's frontends, which drain before it is replaced.
func (g Group) Frontends() []string {
	var out []string
	for _, s := range g.Servers {
		if s.Frontend {
			out = append(out, s.ID)
		}
	}
	return out
}

// IDs are every server of the group.
func (g Group) IDs() []string {
	out := make([]string, len(g.Servers))
	for i, s := range g.Servers {
		out[i] = s.ID
	}
	return out
}

// Plan puts servers in groups: in order (the groups named, as given), else
// in the order the servers first name them, with NoGroup last. Servers of
// groups not in order are left out. Within a group, backends go first.
func Plan(servers []Server, order []string) []Group {
	byGroup := map[string][]Server{}
	var seen []string
	for _, s := range servers {
		g := s.Group
		if g == "" {
			g = NoGroup
		}
		if !slices.Contains(seen, g) {
			seen = append(seen, g)
		}
		byGroup[g] = append(byGroup[g], s)
	}
	if len(order) == 0 {
		order = slices.DeleteFunc(slices.Clone(seen), func(g string) bool { return g == NoGroup })
		if slices.Contains(seen, NoGroup) {
			order = append(order, NoGroup)
		}
	}
	var out []Group
	for _, name := range order {
		list := byGroup[name]
		if len(list) == 0 {
			continue
		}
		slices.SortStableFunc(list, func(a, b Server) int {
			switch {
			case a.Frontend == b.Frontend:
				return 0
			case !a.Frontend:
				return -1
			}
			return 1
		})
		out = append(out, Group{Name: name, Servers: list})
	}
	return out
}

// Check refuses a plan that would drain every frontend of a type at once:
// players could reach none while that group drains. frontends are every
// frontend of the cluster by type, running or not.
func Check(groups []Group, frontends map[string][]string) error {
	var problems []string
	for _, g := range groups {
		drained := map[string]int{}
		for _, s := range g.Servers {
			if s.Frontend {
				drained[s.Type]++
			}
		}
		for _, typ := range slices.Sorted(maps.Keys(drained)) {
			if n := drained[typ]; n >= len(frontends[typ]) {
				problems = append(problems, fmt.Sprintf("group %s would drain every %s (%d of %d) at once", g.Name, typ, n, len(frontends[typ])))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: nothing was done; put the frontends of each type in more than one group (group: on an instance, or groups: by host), or declare another server of that type",
			strings.Join(problems, "; "))
	}
	return nil
}
