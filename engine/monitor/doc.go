// Package monitor is the link between the master and every server of a
// cluster: the master's Hub and the Agent inside each server process.
//
// Each server's Agent dials the master's admin address (a WebSocket at
// /monitor), registers with its server type's token, sends a heartbeat with
// its stats every second, receives the membership of the cluster (every
// server learns every other server, the routing table that server-to-server
// RPC uses), and runs the commands the master sends it ("stop", ...). The Hub
// keeps the membership, fans every join and leave out to the other agents at
// once, and reports what happens to each server as Events for the master's
// supervisor and admin API.
//
// Servers outlive the master: when the link drops, the Agent keeps its last
// view of the cluster and redials with a capped back-off, registering again
// with whichever master answers (a restarted one, or a standby that took
// over); a new master that adopts a server wakes its Agent (WakeSignal), so
// that it redials at once rather than at the end of its back-off. A new
// master's membership starts empty while every server is still there, so
// for a settle window its welcomes are partial (agents add to the view they
// had) until it sends the full list (agents drop whoever is not on it): no
// server vanishes from a routing table only because it has not
// re-registered yet. An Agent refuses a master whose epoch is lower
// than one it has seen, so that a deposed master can neither steer it nor
// feed it a stale view.
//
// Two ways for a member to go, told apart because the supervisor acts on
// them differently:
//
//   - Left: the link closed. With a bye first, the server is stopping on
//     purpose; without one, it crashed or its network went away.
//   - Lost: the link is still open but no heartbeat came within the hub's
//     HeartbeatTimeout — the server is hung. The hub closes the link.
//
// The wire protocol, with examples, is in docs/monitor-link.md.
package monitor
