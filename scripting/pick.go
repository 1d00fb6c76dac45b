package scripting

import (
	"fmt"
	"math"
	"reflect"
)

// chosen turns what a router gave into one of servers, which is not empty.
func chosen(out any, servers []Server) (Server, error) {
	switch v := out.(type) {
	case Server:
		if i := indexOf(servers, v.ID); i >= 0 {
			return servers[i], nil
		}
		return Server{}, fmt.Errorf("router gave server %q, which is not among %s", v.ID, candidates(servers))
	case string:
		if i := indexOf(servers, v); i >= 0 {
			return servers[i], nil
		}
		return Server{}, fmt.Errorf("router gave server id %q, which is not among %s", v, candidates(servers))
	case int:
		return at(servers, int64(v), true)
	case nil:
		return Server{}, fmt.Errorf("router gave nil; %s", routerWants)
	}
	// Other integer kinds: session.id is an int64, a setting may be any of them.
	rv := reflect.ValueOf(out)
	switch {
	case rv.CanInt():
		return at(servers, rv.Int(), true)
	case rv.CanUint():
		u := rv.Uint()
		return at(servers, int64(min(u, math.MaxInt64)), u <= math.MaxInt64)
	}
	return Server{}, fmt.Errorf("router gave %T %v; %s", out, out, routerWants)
}

// at returns servers[i]. exact is false when i stands for a larger number.
func at(servers []Server, i int64, exact bool) (Server, error) {
	if exact && 0 <= i && i < int64(len(servers)) {
		return servers[i], nil
	}
	more := ""
	if !exact {
		more = " or more"
	}
	return Server{}, fmt.Errorf("router gave index %d%s, outside 0..%d for %s", i, more, len(servers)-1, candidates(servers))
}

func indexOf(servers []Server, id string) int {
	for i, s := range servers {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// candidates describes servers for an error, e.g. "the 3 chat servers".
func candidates(servers []Server) string {
	typ := servers[0].Type
	if typ == "" {
		typ = "candidate"
	}
	if len(servers) == 1 {
		return fmt.Sprintf("the 1 %s server (%s)", typ, servers[0].ID)
	}
	return fmt.Sprintf("the %d %s servers", len(servers), typ)
}
