package scripting

import "strconv"

// DefaultPick routes a request when its server type has no router, as Pomelo's
// default route does: crc32 of the session's uid modulo the number of servers.
// Before login there is no uid, and Pomelo hashes "", which sends every anonymous
// request to one server; the session id instead spreads them while still keeping
// one connection's requests on one server.
func DefaultPick(env RouterEnv) (Server, error) {
	if len(env.Servers) == 0 {
		return Server{}, ErrNoServers
	}
	key := env.Session.UID
	if key == "" {
		key = strconv.FormatInt(env.Session.ID, 10)
	}
	return env.Servers[Crc32(key)%len(env.Servers)], nil
}
