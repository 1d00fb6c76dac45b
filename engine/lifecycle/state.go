package lifecycle

import "fmt"

// State is where one supervised server is, as the master sees it.
//
// The zero value is Stopped, the state of a server the master knows about
// but has not been asked to run, so that a new Machine needs no start state.
type State int

const (
	// Stopped: no process, by an operator's wish (or never started). It
	// stays so until an operator starts it.
	Stopped State = iota
	// Starting: a process has been (or is being) launched and has not yet
	// registered its monitor link.
	Starting
	// Running: the process has registered with the master.
	Running
	// Backoff: the process is gone and the restart policy wants it back;
	// the master waits out the back-off delay, then sends RestartDue.
	Backoff
	// Stopping: the process is being stopped, either for an operator or by
	// the supervisor after losing sight of it; the exit decides what next.
	Stopping
	// Exited: the process is gone and the restart policy does not restart
	// it. It stays so until an operator starts it.
	Exited
	// Failed: the server crashed more often than the policy allows and the
	// supervisor gave up. It stays so until an operator starts it.
	Failed
)

// String returns the state's lowercase name, e.g. "backoff": the word
// `pomeloctl ls`, the TUI and the admin API's JSON use.
func (s State) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case Starting:
		return "starting"
	case Running:
		return "running"
	case Backoff:
		return "backoff"
	case Stopping:
		return "stopping"
	case Exited:
		return "exited"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Live reports whether a process may exist in this state, i.e. whether the
// master must still watch for (or bring about) its exit.
func (s State) Live() bool {
	return s == Starting || s == Running || s == Stopping
}

// MarshalText writes the state's name, so events read the same in the admin
// API's JSON as in `pomeloctl ls`.
func (s State) MarshalText() ([]byte, error) {
	if s < Stopped || s > Failed {
		return nil, fmt.Errorf("lifecycle: no such state %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a name written by MarshalText; the admin client in
// the TUI decodes events with it.
func (s *State) UnmarshalText(b []byte) error {
	for st := Stopped; st <= Failed; st++ {
		if st.String() == string(b) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("lifecycle: no such state %q", b)
}
