package lifecycle

import (
	"fmt"
	"time"
)

// Cause is something that happened to a server, fed to Machine.Apply by the
// master's run loop. The set is closed (the method is unexported) so that
// Apply's switch is the whole story of what can move a server.
type Cause interface {
	// name is the machine-readable word an Event carries in its Cause field.
	name() string
}

// StartRequested is an operator (or `pomeloctl up`, or `add`) asking for
// the server to run. It launches a server at rest, cuts a back-off short,
// and is a no-op for one that is already starting or running.
// Its name is "start-requested".
type StartRequested struct{}

// RestartRequested is an operator's `pomeloctl restart`: like
// StartRequested, except that a starting or running server is stopped
// first and then started again. Its name is "restart-requested".
type RestartRequested struct{}

// StopRequested is an operator asking for a graceful stop (beforeStop
// hooks, drain). A server stopped this way is never restarted by the
// policy, whatever its exit. Its name is "stop-requested".
type StopRequested struct{}

// KillRequested is an operator asking for the process group to be killed
// outright. Like StopRequested it never leads to a restart.
// Its name is "kill-requested".
type KillRequested struct{}

// Launched is the master reporting that it has spawned the process the
// last Launch action asked for. Its name is "launched".
type Launched struct{}

// Registered is the server's monitor agent registering with the master:
// the server is up. Its name is "registered".
type Registered struct{}

// Adopted is a master finding the server's process already running, left
// by an earlier master of the same cluster (killed, or crashed): it takes
// the process over instead of launching a duplicate. Only a server the
// machine holds Stopped, as a new machine does, can be adopted.
// Its name is "adopted".
type Adopted struct {
	// Pid is the adopted process, for the reason.
	Pid int
}

// Exit is the process having ended, as the master (its parent, or the ssh
// session for a remote host) saw it. Its name is "exited".
type Exit struct {
	// Code is the exit status; it means nothing when Signal is set, and
	// is negative when the status is unknown: an adopted process is not
	// the master's child, and only a parent learns how its child ended.
	Code int
	// Signal names the signal that killed the process (e.g. "SIGKILL"),
	// or is empty when the process exited by itself.
	Signal string
}

// Clean reports whether the process exited by itself with status 0, the
// one exit the on-failure policy does not restart. An unknown status is
// not clean: the policy errs on the side of bringing the server back.
func (e Exit) Clean() bool { return e.Signal == "" && e.Code == 0 }

// String says what happened the way an operator reads it.
func (e Exit) String() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	if e.Code < 0 {
		return "exited (status unknown: an adopted process)"
	}
	return fmt.Sprintf("exited with code %d", e.Code)
}

// StartFailed is the master failing to spawn the process at all (no such
// command, ssh refused, ...). It counts as a failure to start.
// Its name is "start-failed".
type StartFailed struct {
	Err error
}

// String says what happened the way an operator reads it.
func (f StartFailed) String() string {
	if f.Err == nil {
		return "could not launch"
	}
	return "could not launch: " + f.Err.Error()
}

// MonitorLost is the server's monitor link to the master closing while the
// process may still be alive. The master cannot see or steer such a server,
// so the supervisor kills it. Its name is "monitor-lost".
type MonitorLost struct {
	// Err is why the link closed, if known; it goes into the reason.
	Err error
}

// String says what happened the way an operator reads it.
func (l MonitorLost) String() string {
	if l.Err == nil {
		return "monitor link lost"
	}
	return "monitor link lost: " + l.Err.Error()
}

// HeartbeatMissed is the server going quiet: no heartbeat (or, while
// Starting, no registration) within the master's deadline — a hung
// server, which the supervisor kills. Its name is "heartbeat-missed".
type HeartbeatMissed struct {
	// For is how long the server has been silent, if known; it goes into
	// the reason.
	For time.Duration
}

// String says what happened the way an operator reads it.
func (h HeartbeatMissed) String() string {
	if h.For <= 0 {
		return "heartbeats missed"
	}
	return "no heartbeat for " + human(h.For)
}

// RestartDue is the back-off timer the master armed for a ScheduleRestart
// action having fired. Its name is "restart-due".
type RestartDue struct{}

func (StartRequested) name() string   { return "start-requested" }
func (RestartRequested) name() string { return "restart-requested" }
func (StopRequested) name() string    { return "stop-requested" }
func (KillRequested) name() string    { return "kill-requested" }
func (Launched) name() string         { return "launched" }
func (Registered) name() string       { return "registered" }
func (Adopted) name() string          { return "adopted" }
func (Exit) name() string             { return "exited" }
func (StartFailed) name() string      { return "start-failed" }
func (MonitorLost) name() string      { return "monitor-lost" }
func (HeartbeatMissed) name() string  { return "heartbeat-missed" }
func (RestartDue) name() string       { return "restart-due" }
