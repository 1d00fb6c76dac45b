package monitor

import (
	"errors"
	"fmt"
)

// ErrUnknownServer is a command for a server that has no live link to the
// master.
var ErrUnknownServer = errors.New("no such server is connected to the master")

// ErrClosed is the hub having been closed.
var ErrClosed = errors.New("the monitor hub is closed")

// RefusedError is the master refusing a server's registration for a reason
// that trying again cannot fix (see Fatal). Agent.Run returns it, so that the
// server process exits non-zero with the reason rather than knocking on the
// master's door forever.
type RefusedError struct {
	URL    string // the master's monitor address
	Code   string // one of the Refused… codes
	Reason string // the master's words
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("the master at %s refused this server: %s", e.URL, e.Reason)
	switch e.Code {
	case RefusedToken:
		msg += " (check the token for this server type in the topology; the master's and the server's must match)"
	case RefusedInvalid:
		msg += " (the server's registration is incomplete: a bug in how the server was started)"
	}
	return msg
}

// Fatal reports whether trying again cannot help: a bad token or a malformed
// registration. A duplicate id, another protocol version or a master that is
// closing may all clear up on their own.
func (e *RefusedError) Fatal() bool {
	return e.Code == RefusedToken || e.Code == RefusedInvalid
}

// CommandError is a server answering a command with a failure.
type CommandError struct {
	Server  string // the server's id
	Command string // the command's name
	Message string // the server's words
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("server %s could not run command %q: %s", e.Server, e.Command, e.Message)
}
