package lifecycle

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is one state change of one server. Every change Apply makes comes
// out as exactly one Event; the master publishes them as the single stream
// the admin API, `pomeloctl ls` and the TUI read.
type Event struct {
	Server string `json:"server"`
	From   State  `json:"from"`
	To     State  `json:"to"`
	// Cause is the machine-readable name of what moved the server, e.g.
	// "exited" or "heartbeat-missed" (see each Cause type).
	Cause string `json:"cause"`
	// Reason says the same for an operator, e.g. "exited with code 2
	// after 3.2s; restarting in 400ms".
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// Seq numbers the events of one server from 1, with no gaps, so that
	// a reader can tell it has missed one.
	Seq uint64 `json:"seq"`
	// Restarts is how many times the supervisor has restarted the server
	// on its own (operator starts do not count), over the machine's life.
	Restarts int `json:"restarts"`
}

// ActionKind is what the master must do next for a server.
type ActionKind int

const (
	// NoAction: nothing to do; the zero Action.
	NoAction ActionKind = iota
	// Launch: spawn the server's process, then report Launched, or
	// StartFailed if it cannot be spawned.
	Launch
	// Stop: ask the process to stop gracefully (beforeStop hooks, drain),
	// escalating to a kill at the master's own deadline.
	Stop
	// Kill: kill the process group outright.
	Kill
	// ScheduleRestart: arm a timer for Action.After and send RestartDue
	// when it fires. The master must stop the timer when the server leaves
	// Backoff (an event whose From is Backoff): left running, it could cut
	// a later back-off short. A RestartDue that slips through anyway, the
	// timer having fired just as an operator moved the server on, is
	// ignored outside Backoff.
	ScheduleRestart
)

// String returns the kind's name, for logs.
func (k ActionKind) String() string {
	switch k {
	case NoAction:
		return "none"
	case Launch:
		return "launch"
	case Stop:
		return "stop"
	case Kill:
		return "kill"
	case ScheduleRestart:
		return "schedule-restart"
	}
	return fmt.Sprintf("ActionKind(%d)", int(k))
}

// Action is what the master should do after an Apply.
type Action struct {
	Kind ActionKind
	// After is the back-off delay of a ScheduleRestart; zero otherwise.
	After time.Duration
}

// String returns e.g. "kill" or "schedule-restart after 400ms", for logs.
func (a Action) String() string {
	if a.Kind == ScheduleRestart {
		return a.Kind.String() + " after " + a.After.String()
	}
	return a.Kind.String()
}

// TransitionError is a fact that contradicts what the machine knows, such
// as a server registering while the machine holds it Stopped. Apply
// changes nothing when it returns one.
type TransitionError struct {
	Server string
	State  State  // the state the machine stayed in
	Cause  string // the cause's name, e.g. "registered"
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("lifecycle: %s: illegal transition: %s while %s", e.Server, e.Cause, e.State)
}

// Machine is one server's supervision state. It is not safe for concurrent
// use: the master's run loop owns it, which keeps every decision about a
// server in one goroutine and in the order the facts arrived.
type Machine struct {
	server string
	policy Policy
	now    func() time.Time

	state    State
	seq      uint64
	restarts int

	// The current attempt, from the last entry into Starting.
	startedAt  time.Time // entered Starting
	launchedAt time.Time // the master reported Launched; zero until then
	runningAt  time.Time // Registered; zero if the attempt never ran

	// Why the server is Stopping; reset by every launch.
	byOperator bool       // an operator asked: the exit must not restart it
	stopWhy    string     // e.g. "stop requested", "no heartbeat for 5s"
	stopAct    ActionKind // the Stop or Kill issued, repeated if the process is launched late
	then       Cause      // an operator's start or restart to carry out once stopped

	// Back-off and crash-loop bookkeeping; an operator's start resets it.
	failures int           // consecutive failures: the doubling count of the next delay
	recent   []time.Time   // automatic restarts within the window (kept only with MaxRestarts > 0)
	delay    time.Duration // the back-off now being waited out, for the restart's reason
}

// New returns the machine of the server with the given id, Stopped until
// the master applies StartRequested. clock is read once per Apply to stamp
// events and measure uptime; nil means time.Now. Tests pass a fake.
func New(server string, p Policy, clock func() time.Time) (*Machine, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("lifecycle: %s: %w", server, err)
	}
	if clock == nil {
		clock = time.Now
	}
	return &Machine{server: server, policy: p, now: clock}, nil
}

// State returns the server's current state.
func (m *Machine) State() State { return m.state }

// Restarts returns how many times the supervisor has restarted the server
// on its own, as Event.Restarts does.
func (m *Machine) Restarts() int { return m.restarts }

// step gathers the events of one Apply, all stamped with one clock reading
// so that two events caused by one fact carry the same time.
type step struct {
	at     time.Time
	events []Event
}

// Apply applies what happened to the server and returns the events it
// caused — usually one; none when nothing changes, as for a duplicate exit;
// two when an operator's restart completes a stop — and what the master
// should do next. A fact that contradicts the machine's state is returned
// as a *TransitionError and changes nothing.
func (m *Machine) Apply(c Cause) ([]Event, Action, error) {
	if c == nil {
		return nil, Action{}, &TransitionError{Server: m.server, State: m.state, Cause: "nil cause"}
	}
	if !m.legal(c) {
		return nil, Action{}, &TransitionError{Server: m.server, State: m.state, Cause: c.name()}
	}
	s := &step{at: m.now()}
	var act Action
	switch c := c.(type) {
	case StartRequested, RestartRequested:
		act = m.start(s, c)
	case StopRequested:
		act = m.stop(s, c, Stop)
	case KillRequested:
		act = m.stop(s, c, Kill)
	case Launched:
		act = m.launched(s)
	case Registered:
		if m.state == Starting {
			m.runningAt = s.at
			m.move(s, Running, c, "registered after "+m.uptime(s))
		}
	case Adopted:
		m.startedAt, m.launchedAt, m.runningAt = s.at, s.at, s.at
		m.move(s, Running, c, fmt.Sprintf("adopted the running process %d", c.Pid))
	case Exit:
		act = m.gone(s, c, c.String()+" after "+m.uptime(s), !c.Clean())
	case StartFailed:
		act = m.gone(s, c, c.String(), true)
	case MonitorLost:
		act = m.lostSight(s, c, c.String())
	case HeartbeatMissed:
		act = m.lostSight(s, c, c.String())
	case RestartDue:
		// Outside Backoff this is a timer that fired after an operator
		// moved the server on: stale, ignored.
		if m.state == Backoff {
			m.restarts++
			if m.policy.MaxRestarts > 0 {
				m.recent = append(m.recent, s.at)
			}
			act = m.launch(s, c, fmt.Sprintf("restart %d, after a %s back-off", m.restarts, human(m.delay)))
		}
	}
	return s.events, act, nil
}

// legal reports whether c may be applied in the current state. Only a
// process showing signs of life where the machine knows there is none is
// refused; everything else is either a transition or a harmless no-op
// (see the package comment).
func (m *Machine) legal(c Cause) bool {
	switch c.(type) {
	case Launched:
		// Launched in Running is a late report of a spawn already
		// confirmed by the registration.
		return m.state.Live()
	case Registered:
		return m.state.Live()
	case StartFailed:
		// A server that registered was launched.
		return m.state != Running
	case Adopted:
		// A machine that already knows a process cannot take on another.
		return m.state == Stopped
	}
	return true
}

// start carries out an operator's StartRequested or RestartRequested.
func (m *Machine) start(s *step, c Cause) Action {
	switch m.state {
	case Stopped, Exited, Failed, Backoff:
		// An operator's start is a fresh beginning: the crash loop that
		// may have ended in Failed is forgiven, and a back-off in
		// progress is cut short because someone is waiting for it.
		m.forgive()
		return m.launch(s, c, said(c))
	case Starting, Running:
		if _, ok := c.(RestartRequested); !ok {
			return Action{}
		}
		m.byOperator, m.stopWhy, m.stopAct, m.then = true, said(c), Stop, c
		m.move(s, Stopping, c, said(c)+": stopping first")
		return Action{Kind: Stop}
	case Stopping:
		// Let the stop in flight finish, then start; the operator now
		// owns the stop, so the policy will not get a say.
		m.byOperator, m.then = true, c
	}
	return Action{}
}

// stop carries out an operator's StopRequested (act Stop) or
// KillRequested (act Kill). Neither ever leads to a restart.
func (m *Machine) stop(s *step, c Cause, act ActionKind) Action {
	switch m.state {
	case Starting, Running:
		m.byOperator, m.stopWhy, m.stopAct, m.then = true, said(c), act, nil
		m.move(s, Stopping, c, said(c))
		return Action{Kind: act}
	case Stopping:
		// The stop in flight now belongs to the operator, and any start
		// an earlier restart request left pending is dropped: the latest
		// wish wins.
		m.byOperator, m.then = true, nil
		if act == Kill {
			// A kill during a graceful stop escalates it; sent again
			// even during a kill, since repeating one is harmless and
			// the operator may be retrying a kill that got lost.
			m.stopWhy, m.stopAct = said(c), Kill
			return Action{Kind: Kill}
		}
	case Backoff:
		m.move(s, Stopped, c, said(c)+" during back-off")
	}
	return Action{}
}

// launched records the spawn the last Launch asked for.
func (m *Machine) launched(s *step) Action {
	if !m.launchedAt.IsZero() || m.state == Running {
		return Action{}
	}
	m.launchedAt = s.at
	if m.state == Stopping {
		// The stop was decided before there was a process to deliver it
		// to (a slow launch, say over ssh): deliver it now.
		return Action{Kind: m.stopAct}
	}
	return Action{}
}

// lostSight handles a lost monitor link or missed heartbeats: a server the
// master cannot see or steer is killed, whatever the restart policy, since
// it is out of the cluster anyway and would otherwise linger as an orphan
// holding its ports. Its exit then goes to the policy as a failure.
func (m *Machine) lostSight(s *step, c Cause, why string) Action {
	if m.state != Starting && m.state != Running {
		// Already stopping, or already gone: a dying process drops its
		// link and falls silent, so this is expected news.
		return Action{}
	}
	m.byOperator, m.stopWhy, m.stopAct, m.then = false, why, Kill, nil
	m.move(s, Stopping, c, why+"; killing the process group")
	return Action{Kind: Kill}
}

// gone handles the process's end, by exit or by failing to launch; what
// says how it ended and failed whether that counts as a failure.
func (m *Machine) gone(s *step, c Cause, what string, failed bool) Action {
	switch m.state {
	case Starting, Running:
		return m.settle(s, c, what, failed)
	case Stopping:
		if !m.byOperator {
			// The supervisor killed it for going out of sight: a failure,
			// even if it managed a clean exit first.
			return m.settle(s, c, what+" ("+m.stopWhy+")", true)
		}
		m.move(s, Stopped, c, what+" ("+m.stopWhy+")")
		if then := m.then; then != nil {
			m.forgive()
			return m.launch(s, then, said(then))
		}
	}
	// Otherwise the machine already knows the process is gone.
	return Action{}
}

// settle decides what becomes of a server whose process is gone without an
// operator having asked: the restart policy, the back-off and the crash
// loop, in that order.
func (m *Machine) settle(s *step, c Cause, what string, failed bool) Action {
	p := m.policy
	if m.runningAt.IsZero() {
		what = "failed to start: " + what
	}
	if !p.restarts(failed) {
		m.move(s, Exited, c, fmt.Sprintf("%s; not restarted (restart: %s)", what, p.Restart))
		return Action{}
	}
	if !m.runningAt.IsZero() && s.at.Sub(m.runningAt) >= p.MinUptime {
		// It ran long enough to call this crash a fresh one.
		m.failures = 0
	}
	if p.MaxRestarts > 0 {
		if p.Window > 0 {
			m.recent = slices.DeleteFunc(m.recent, func(t time.Time) bool {
				return !t.After(s.at.Add(-p.Window))
			})
		}
		if len(m.recent) >= p.MaxRestarts {
			within := "in " + human(p.Window)
			if p.Window == 0 {
				within = "since the last start"
			}
			m.move(s, Failed, c, fmt.Sprintf("%s; %d restarts %s: gave up", what, p.MaxRestarts, within))
			return Action{}
		}
	}
	m.delay = p.delay(m.failures)
	m.failures++
	m.move(s, Backoff, c, fmt.Sprintf("%s; restarting in %s", what, human(m.delay)))
	return Action{Kind: ScheduleRestart, After: m.delay}
}

// launch moves to Starting for a new attempt and asks for the process.
func (m *Machine) launch(s *step, c Cause, reason string) Action {
	m.startedAt, m.launchedAt, m.runningAt = s.at, time.Time{}, time.Time{}
	m.byOperator, m.stopWhy, m.stopAct, m.then = false, "", NoAction, nil
	m.move(s, Starting, c, reason)
	return Action{Kind: Launch}
}

// forgive resets the back-off and the crash-loop count, as an operator's
// start does.
func (m *Machine) forgive() {
	m.failures, m.recent = 0, nil
}

// move is the only place the state changes, so that every change is
// exactly one event.
func (m *Machine) move(s *step, to State, c Cause, reason string) {
	m.seq++
	s.events = append(s.events, Event{
		Server:   m.server,
		From:     m.state,
		To:       to,
		Cause:    c.name(),
		Reason:   reason,
		At:       s.at,
		Seq:      m.seq,
		Restarts: m.restarts,
	})
	m.state = to
}

// uptime is how long the current attempt's process has existed: from its
// launch, or from entering Starting if the launch was never reported.
func (m *Machine) uptime(s *step) string {
	from := m.launchedAt
	if from.IsZero() {
		from = m.startedAt
	}
	return human(s.at.Sub(from))
}

// said turns an operator request into words: "stop requested".
func said(c Cause) string {
	return strings.ReplaceAll(c.name(), "-", " ")
}

// human writes a duration the way an operator reads it in a reason:
// "400ms", "3.2s", "60s", "15m", "2h30m".
func human(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + "ms"
	case d < 10*time.Minute:
		// Seconds, to a tenth: precise enough to tell a crash at start
		// from one a little later, and "60s" reads as written in a policy.
		return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + "s"
	}
	out := d.Round(time.Second).String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}
