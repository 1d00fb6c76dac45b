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
	Code   int // the error's code when the handler gave one (Coded), else 0
	Msg    string
}

// Coded is a handler's error with a code for the client (a refusal: 401,
// 503): the caller's RemoteError carries the code and the message.
type Coded interface {
	error
	Coded() (code int, msg string)
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("%s on %s: %s", e.Route, e.Server, e.Msg)
}
