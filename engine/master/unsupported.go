package master

import (
	"fmt"

	"github.com/pomeloctl/pomeloctl/topology"
)

// Unsupported lists what t asks for that the runtime does not do yet, one
// sentence each with where it is written, so that `up` refuses the
// topology rather than run it without what it declares.
func Unsupported(t *topology.Topology) []string {
	var out []string
	notYet := func(pos topology.Pos, what string) {
		out = append(out, fmt.Sprintf("%s: %s: not built yet; remove it to run this topology now", pos, what))
	}
	if t.HA != nil {
		notYet(t.At.Of("ha"), "ha (hot-standby masters in ZooKeeper)")
	}
	if t.GlobalChannel != nil {
		notYet(t.At.Of("globalChannel"), "globalChannel (channels in Redis)")
	}
	if len(t.Filters.Before)+len(t.Filters.After) > 0 {
		notYet(t.At.Of("filters"), "filters")
	}
	if !t.Hooks.AfterStart.IsZero() || !t.Hooks.AfterStartAll.IsZero() || !t.Hooks.BeforeStop.IsZero() {
		notYet(t.At.Of("hooks"), "hooks written as expressions (the Go API's hooks run)")
	}
	for _, st := range t.Types {
		if len(st.Filters.Before)+len(st.Filters.After) > 0 {
			notYet(st.At.Of("filters"), fmt.Sprintf("servers.%s.filters", st.Name))
		}
		if len(st.Handlers) > 0 {
			notYet(st.At.Of("handlers"), fmt.Sprintf("servers.%s.handlers (handlers written as expressions)", st.Name))
		}
		if len(st.Remotes) > 0 {
			notYet(st.At.Of("remotes"), fmt.Sprintf("servers.%s.remotes (remotes written as expressions)", st.Name))
		}
	}
	return out
}
