// Package lifecycle is the state machine of one supervised server as the
// master sees it: the state set, and the one transition function that turns
// what happened to the server into state changes, events and the master's
// next action.
//
// It is the one place pomeloctl's supervision decisions live — restart
// policy, capped exponential back-off, crash-loop detection, and the rule
// that an operator's stop or kill never leads to a restart — so that they
// can be read in one file and tested as a table with a fake clock. It starts
// no processes and owns no timers: the master's run loop feeds it facts
// (Causes) and carries out the Actions it returns, and every state change
// comes out as exactly one Event, the stream the admin API, `pomeloctl ls`
// and the TUI all read.
//
// The states and the usual ways between them:
//
//	Stopped, Exited, Failed, Backoff ──StartRequested/RestartRequested──▶ Starting
//	Backoff ──RestartDue──▶ Starting ──Registered──▶ Running
//	Stopped ──Adopted──▶ Running   (a new master takes over a live process)
//	Starting, Running ──Exit/StartFailed──▶ Backoff | Exited | Failed   (restart policy)
//	Starting, Running ──MonitorLost/HeartbeatMissed──▶ Stopping (Kill) ──Exit──▶ (restart policy)
//	Starting, Running ──StopRequested/KillRequested──▶ Stopping ──Exit──▶ Stopped
//	Backoff ──StopRequested/KillRequested──▶ Stopped
//
// Facts are sorted into three kinds, which decides what Apply does with a
// fact that does not move the machine:
//
//   - Operator requests (start, restart, stop, kill) are idempotent: stopping
//     a stopped server changes nothing and is not an error.
//   - Facts that a process is gone (Exit, StartFailed, MonitorLost,
//     HeartbeatMissed) and a back-off timer that fires late (RestartDue) are
//     often heard twice or after the fact — a dying process both exits and
//     drops its monitor link — so once the machine knows the process is
//     gone, hearing it again changes nothing and is not an error.
//   - Facts that a process is alive (Launched, Registered, and Adopted
//     outside Stopped) while the machine knows there is none, or another,
//     contradict it: that is a bug or a race in the
//     caller, reported as a *TransitionError, and nothing changes.
package lifecycle
