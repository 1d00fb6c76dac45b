package topology

import (
	"fmt"
	"maps"
	"slices"
)

// HostGroup names the hosts of a group (seed 003's two groups of three
// machines): every server on one of them is in the group unless its
// instance, cluster group or type names another.
type HostGroup struct {
	Hosts []string `yaml:"hosts" json:"hosts"`

	At Positions `yaml:"-" json:"-"`
}

// checkGroups checks the group names written anywhere, and that no host is
// in two groups.
func (l *loader) checkGroups(t *Topology) {
	owner := map[string]string{} // canonical host → group
	for _, name := range slices.Sorted(maps.Keys(t.Groups)) {
		g := t.Groups[name]
		path := "groups." + name
		l.checkGroupName(name, t.At.Of(path), path)
		if len(g.Hosts) == 0 && !g.At.Bad("hosts") {
			l.errs.add(g.At.Self, path+".hosts", "a group of no hosts", "list the hosts whose servers are in the group, or name the group on the servers themselves (group: on a type, an instance or a cluster group)")
		}
		for i, h := range g.Hosts {
			key := fmt.Sprintf("hosts[%d]", i)
			if h == "" {
				l.errs.add(g.At.Of(key), path+"."+key, "an empty host", "write the host's address, as the servers on it declare it")
				continue
			}
			if first, dup := owner[canonicalHost(h)]; dup {
				l.errs.add(g.At.Of(key), path+"."+key, fmt.Sprintf("host %s is in group %s already", h, first), "put each host in one group: its servers can only be taken out of service with one")
				continue
			}
			owner[canonicalHost(h)] = name
		}
	}
	for _, st := range t.Types {
		path := "servers." + st.Name
		if st.Group != "" {
			l.checkGroupName(st.Group, st.At.Of("group"), path+".group")
		}
		for i, in := range st.Instances {
			if in.Group != "" {
				l.checkGroupName(in.Group, in.At.Of("group"), fmt.Sprintf("%s.instances[%d].group", path, i))
			}
		}
		for i, c := range st.Clusters {
			if c.Group != "" {
				l.checkGroupName(c.Group, c.At.Of("group"), fmt.Sprintf("%s.cluster[%d].group", path, i))
			}
		}
	}
}

func (l *loader) checkGroupName(name string, pos Pos, path string) {
	if !typeName.MatchString(name) {
		l.errs.add(pos, path, fmt.Sprintf("%q is not a group name", name), "start it with a letter, then letters, digits, _ or -, e.g. blue or group-1")
	}
}

// groupOf is a server's group: its instance's or cluster group's, else its
// type's, else its host's; "" for none.
func groupOf(t *Topology, st *ServerType, own, host string) string {
	if own != "" {
		return own
	}
	if st.Group != "" {
		return st.Group
	}
	for _, name := range slices.Sorted(maps.Keys(t.Groups)) {
		for _, h := range t.Groups[name].Hosts {
			if canonicalHost(h) == canonicalHost(host) {
				return name
			}
		}
	}
	return ""
}

// GroupNames are the groups its servers are in, in the order the
// topology first puts a server in each.
func (t *Topology) GroupNames() []string {
	var out []string
	for _, s := range t.AllServers() {
		if s.Group != "" && !slices.Contains(out, s.Group) {
			out = append(out, s.Group)
		}
	}
	return out
}
