// Package rpc is server-to-server RPC: persistent, multiplexed TCP
// connections between the servers of a cluster, one per pair, made from the
// membership the master distributes.
//
// A connection is symmetric: either end may call (and be answered), or
// notify, on it. The server that needs a connection first dials it and says
// who it is; the other end takes the accepted connection as its own way to
// that peer, so that a frontend that forwards a request to a backend and
// the backend that pushes back to the frontend share one ordered stream. A
// handler that sends to its caller while it runs (Reply.Notify) goes on the
// very connection its answer will take, so what it sends arrives before
// the answer, as in Pomelo.
//
// Writes are queued and written by one goroutine per connection in
// batches, with Nagle off (Go's default for TCP): a lone call leaves at
// once, and a burst leaves in few system calls. A call to a peer that is
// gone fails at once with ErrPeerGone or a dial error; a connection that
// breaks fails its pending calls with ErrPeerGone; the next call dials
// again.
//
// The wire format is in frame.go.
package rpc
