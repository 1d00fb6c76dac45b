// Package ha elects one leader among a cluster's masters in ZooKeeper, by
// the recipe ZooKeeper documents: each master is a candidate with a
// protected ephemeral-sequential node under PATH/election, the lowest
// sequence number (compared as a number: Pomelo's masterha plugin compared
// strings, and two masters led at once past 9 → 10) leads, and each other
// candidate watches only the node just before its own.
//
// A leader's term is a lease on its ZooKeeper session: it is confirmed by
// a round trip every quarter of the session timeout, and it ends on the
// leader's own clock a margin before the ensemble could expire the
// session and elect another, so that two masters never act at once, even
// when the leader is cut off from ZooKeeper or frozen (SIGSTOP) past its
// timeout. Each term has an epoch, one more than every earlier term's,
// kept in PATH/epoch; servers refuse a master with an epoch lower than one
// they have seen.
//
// The leader publishes {id, addr, epoch} in PATH/leader (an ephemeral node,
// gone with its session) once it is ready to lead; standbys and the
// control commands read it there.
package ha
