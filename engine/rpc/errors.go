package rpc

import (
	"errors"
	"fmt"
)

// ErrPeerGone reports a call to a server that is not there: not in the
// cluster, or its connection closed before it answered.
var ErrPeerGone = errors.New("the server is gone")

// ErrStopping reports a call the peer refused without running it because
// it is stopping: the call can be made again, to the same server once it
// is back, with no fear of running twice.
var ErrStopping = errors.New("the server is stopping")

// ErrClosed reports a call on a node that has been closed.
var ErrClosed = errors.New("rpc: this server's RPC is closed")

// RemoteError is a handler's error, as the server that ran it said it.
type RemoteError struct {
	Server string // who answered
	Route  string
	Msg    string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("%s on %s: %s", e.Route, e.Server, e.Msg)
}
