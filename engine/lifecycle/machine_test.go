package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// t0 is an arbitrary start for the fake clock; events are checked against it.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is moved by the test only, so durations in reasons are exact.
type fakeClock struct{ now time.Time }

func (c *fakeClock) read() time.Time { return c.now }

// tick is one line of a script: advance the clock by wait, apply cause,
// then check what came out.
type tick struct {
	wait  time.Duration
	cause Cause
	// moves lists the wanted events as "from>to", comma-separated;
	// empty means none.
	moves string
	act   Action
	err   bool
	// reason, when set, must equal the last event's Reason.
	reason string
}

var (
	none   = Action{}
	launch = Action{Kind: Launch}
	stop   = Action{Kind: Stop}
	kill   = Action{Kind: Kill}
)

func after(d time.Duration) Action { return Action{Kind: ScheduleRestart, After: d} }

const ms = time.Millisecond

// policy is the topology's built-in policy with the given mode.
func policy(r Restart) Policy {
	return Policy{Restart: r, MinUptime: 5 * time.Second, BackoffInitial: 100 * ms, BackoffMax: 30 * time.Second, MaxRestarts: 5, Window: time.Minute}
}

// up brings a fresh machine to Running: launched at t0, registered 0.8s
// later.
func up(more ...tick) []tick {
	return append([]tick{
		{cause: StartRequested{}, moves: "stopped>starting", act: launch, reason: "start requested"},
		{cause: Launched{}},
		{wait: 800 * ms, cause: Registered{}, moves: "starting>running", reason: "registered after 800ms"},
	}, more...)
}

// launched brings a fresh machine to Starting with its process spawned.
func launched(more ...tick) []tick {
	return append([]tick{
		{cause: StartRequested{}, moves: "stopped>starting", act: launch},
		{cause: Launched{}},
	}, more...)
}

func fmtCause(c Cause) string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", c), "lifecycle.")
	if s, ok := c.(fmt.Stringer); ok {
		return name + "(" + s.String() + ")"
	}
	return name
}

// fmtInput writes the ticks applied so far, for failure messages.
func fmtInput(ticks []tick) string {
	var b strings.Builder
	for i, tk := range ticks {
		if i > 0 {
			b.WriteString(", ")
		}
		if tk.wait > 0 {
			fmt.Fprintf(&b, "+%s ", tk.wait)
		}
		b.WriteString(fmtCause(tk.cause))
	}
	return b.String()
}

func fmtMoves(evs []Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.From.String()+">"+e.To.String())
	}
	return strings.Join(out, ", ")
}

// play runs a script on a new machine, checking each tick and the
// invariants every Apply must keep: one event per change, chained from
// state to state, numbered without gaps, stamped with the clock; and an
// error changes nothing.
func play(t *testing.T, p Policy, script []tick) *Machine {
	t.Helper()
	clk := &fakeClock{now: t0}
	m, err := New("chat-server-1", p, clk.read)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var seq uint64
	for i, tk := range script {
		clk.now = clk.now.Add(tk.wait)
		before := m.State()
		evs, act, err := m.Apply(tk.cause)
		in := fmtInput(script[:i+1])
		if got := fmtMoves(evs); got != tk.moves {
			t.Fatalf("input %s:\ngot moves %q, want %q (reasons %q)", in, got, tk.moves, reasons(evs))
		}
		if act != tk.act {
			t.Fatalf("input %s:\ngot action %v, want %v", in, act, tk.act)
		}
		if (err != nil) != tk.err {
			t.Fatalf("input %s:\ngot error %v, want error: %v", in, err, tk.err)
		}
		if err != nil && m.State() != before {
			t.Fatalf("input %s:\ngot state %v after an error, want it unchanged at %v", in, m.State(), before)
		}
		if tk.reason != "" && (len(evs) == 0 || evs[len(evs)-1].Reason != tk.reason) {
			t.Fatalf("input %s:\ngot reasons %q, want the last to be %q", in, reasons(evs), tk.reason)
		}
		from := before
		for _, e := range evs {
			seq++
			if e.Seq != seq || e.From != from || e.Server != "chat-server-1" || !e.At.Equal(clk.now) || e.Cause == "" || e.Reason == "" {
				t.Fatalf("input %s:\ngot event %+v, want seq %d from %v for chat-server-1 at %v with a cause and a reason", in, e, seq, from, clk.now)
			}
			from = e.To
		}
		if m.State() != from {
			t.Fatalf("input %s:\ngot state %v, want %v, where the events lead", in, m.State(), from)
		}
	}
	return m
}

func reasons(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Reason)
	}
	return out
}

func TestApply(t *testing.T) {
	errNotFound := errors.New(`exec: "game": executable file not found in $PATH`)
	tests := []struct {
		name   string
		policy Restart
		script []tick
	}{
		// Policy "no": every exit ends in Exited.
		{"no/crash", RestartNo, up(
			tick{wait: 3200 * ms, cause: Exit{Code: 2}, moves: "running>exited", reason: "exited with code 2 after 4s; not restarted (restart: no)"},
		)},
		{"no/clean exit", RestartNo, up(
			tick{wait: time.Second, cause: Exit{}, moves: "running>exited", reason: "exited with code 0 after 1.8s; not restarted (restart: no)"},
		)},
		{"no/exit before registering is a start failure", RestartNo, launched(
			tick{wait: 300 * ms, cause: Exit{Code: 1}, moves: "starting>exited", reason: "failed to start: exited with code 1 after 300ms; not restarted (restart: no)"},
		)},
		{"no/launch failure", RestartNo, []tick{
			{cause: StartRequested{}, moves: "stopped>starting", act: launch},
			{cause: StartFailed{Err: errNotFound}, moves: "starting>exited", reason: `failed to start: could not launch: exec: "game": executable file not found in $PATH; not restarted (restart: no)`},
		}},
		{"no/hung server is killed, then stays exited", RestartNo, up(
			tick{wait: 10 * time.Second, cause: HeartbeatMissed{For: 5 * time.Second}, moves: "running>stopping", act: kill, reason: "no heartbeat for 5s; killing the process group"},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>exited", reason: "killed by SIGKILL after 10.8s (no heartbeat for 5s); not restarted (restart: no)"},
		)},
		{"no/operator start after exit", RestartNo, up(
			tick{cause: Exit{Code: 2}, moves: "running>exited"},
			tick{cause: RestartRequested{}, moves: "exited>starting", act: launch, reason: "restart requested"},
		)},

		// Policy "on-failure": failures restart, a clean exit does not.
		{"on-failure/non-zero exit restarts after back-off", RestartOnFailure, up(
			tick{wait: 3200 * ms, cause: Exit{Code: 2}, moves: "running>backoff", act: after(100 * ms), reason: "exited with code 2 after 4s; restarting in 100ms"},
			tick{wait: 100 * ms, cause: RestartDue{}, moves: "backoff>starting", act: launch, reason: "restart 1, after a 100ms back-off"},
			tick{cause: Launched{}},
			tick{wait: 500 * ms, cause: Registered{}, moves: "starting>running", reason: "registered after 500ms"},
		)},
		{"on-failure/clean exit is respected", RestartOnFailure, up(
			tick{cause: Exit{}, moves: "running>exited", reason: "exited with code 0 after 800ms; not restarted (restart: on-failure)"},
		)},
		{"on-failure/signal nobody asked for restarts", RestartOnFailure, up(
			tick{cause: Exit{Signal: "SIGSEGV"}, moves: "running>backoff", act: after(100 * ms), reason: "killed by SIGSEGV after 800ms; restarting in 100ms"},
		)},
		{"on-failure/monitor lost: kill, then restart", RestartOnFailure, up(
			tick{cause: MonitorLost{Err: errors.New("EOF")}, moves: "running>stopping", act: kill, reason: "monitor link lost: EOF; killing the process group"},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>backoff", act: after(100 * ms), reason: "killed by SIGKILL after 800ms (monitor link lost: EOF); restarting in 100ms"},
		)},
		{"on-failure/missed heartbeats: a kill is a failure even if the exit is clean", RestartOnFailure, up(
			tick{cause: HeartbeatMissed{}, moves: "running>stopping", act: kill, reason: "heartbeats missed; killing the process group"},
			tick{cause: Exit{}, moves: "stopping>backoff", act: after(100 * ms), reason: "exited with code 0 after 800ms (heartbeats missed); restarting in 100ms"},
		)},
		{"on-failure/exit before registering is a start failure", RestartOnFailure, launched(
			tick{wait: 300 * ms, cause: Exit{Code: 1}, moves: "starting>backoff", act: after(100 * ms), reason: "failed to start: exited with code 1 after 300ms; restarting in 100ms"},
		)},
		{"on-failure/clean exit before registering is still respected", RestartOnFailure, launched(
			tick{cause: Exit{}, moves: "starting>exited", reason: "failed to start: exited with code 0 after 0ms; not restarted (restart: on-failure)"},
		)},
		{"on-failure/launch failure restarts", RestartOnFailure, []tick{
			{cause: StartRequested{}, moves: "stopped>starting", act: launch},
			{cause: StartFailed{}, moves: "starting>backoff", act: after(100 * ms), reason: "failed to start: could not launch; restarting in 100ms"},
		}},
		{"on-failure/hung while starting: kill, then restart", RestartOnFailure, launched(
			tick{wait: 30 * time.Second, cause: HeartbeatMissed{For: 30 * time.Second}, moves: "starting>stopping", act: kill},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>backoff", act: after(100 * ms), reason: "failed to start: killed by SIGKILL after 30s (no heartbeat for 30s); restarting in 100ms"},
		)},

		// Policy "always": any exit no operator asked for restarts.
		{"always/clean exit restarts", RestartAlways, up(
			tick{cause: Exit{}, moves: "running>backoff", act: after(100 * ms), reason: "exited with code 0 after 800ms; restarting in 100ms"},
			tick{wait: 100 * ms, cause: RestartDue{}, moves: "backoff>starting", act: launch},
		)},
		{"always/crash restarts", RestartAlways, up(
			tick{cause: Exit{Code: 137}, moves: "running>backoff", act: after(100 * ms)},
		)},
		{"always/start failure restarts", RestartAlways, launched(
			tick{cause: Exit{}, moves: "starting>backoff", act: after(100 * ms), reason: "failed to start: exited with code 0 after 0ms; restarting in 100ms"},
		)},

		// Operators: stop and kill end in Stopped; restart comes back.
		{"operator/stop", RestartAlways, up(
			tick{cause: StopRequested{}, moves: "running>stopping", act: stop, reason: "stop requested"},
			tick{wait: 2 * time.Second, cause: Exit{Code: 1}, moves: "stopping>stopped", reason: "exited with code 1 after 2.8s (stop requested)"},
		)},
		{"operator/kill", RestartAlways, up(
			tick{cause: KillRequested{}, moves: "running>stopping", act: kill, reason: "kill requested"},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>stopped", reason: "killed by SIGKILL after 800ms (kill requested)"},
		)},
		{"operator/kill escalates a graceful stop", RestartAlways, up(
			tick{cause: StopRequested{}, moves: "running>stopping", act: stop},
			tick{wait: 10 * time.Second, cause: KillRequested{}, act: kill},
			tick{cause: KillRequested{}, act: kill},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>stopped", reason: "killed by SIGKILL after 10.8s (kill requested)"},
		)},
		{"operator/stop takes over the supervisor's kill", RestartAlways, up(
			tick{cause: HeartbeatMissed{For: 5 * time.Second}, moves: "running>stopping", act: kill},
			tick{cause: StopRequested{}},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>stopped", reason: "killed by SIGKILL after 800ms (no heartbeat for 5s)"},
		)},
		{"operator/stop during back-off", RestartAlways, up(
			tick{cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
			tick{cause: StopRequested{}, moves: "backoff>stopped", reason: "stop requested during back-off"},
			tick{wait: 100 * ms, cause: RestartDue{}},
		)},
		{"operator/kill during back-off", RestartOnFailure, up(
			tick{cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
			tick{cause: KillRequested{}, moves: "backoff>stopped", reason: "kill requested during back-off"},
		)},
		{"operator/stop before the launch is reported is delivered on launch", RestartAlways, []tick{
			{cause: StartRequested{}, moves: "stopped>starting", act: launch},
			{cause: StopRequested{}, moves: "starting>stopping", act: stop},
			{wait: 2 * time.Second, cause: Launched{}, act: stop},
			{cause: Launched{}},
			{cause: Exit{}, moves: "stopping>stopped", reason: "exited with code 0 after 0ms (stop requested)"},
		}},
		{"operator/kill before the launch is reported is delivered on launch", RestartAlways, []tick{
			{cause: StartRequested{}, moves: "stopped>starting", act: launch},
			{cause: KillRequested{}, moves: "starting>stopping", act: kill},
			{cause: Launched{}, act: kill},
		}},
		{"operator/stop, then the launch fails", RestartAlways, []tick{
			{cause: StartRequested{}, moves: "stopped>starting", act: launch},
			{cause: StopRequested{}, moves: "starting>stopping", act: stop},
			{cause: StartFailed{Err: errNotFound}, moves: "stopping>stopped", reason: `could not launch: exec: "game": executable file not found in $PATH (stop requested)`},
		}},
		{"operator/restart a running server: stop, then start", RestartNo, up(
			tick{cause: RestartRequested{}, moves: "running>stopping", act: stop, reason: "restart requested: stopping first"},
			tick{cause: Exit{}, moves: "stopping>stopped, stopped>starting", act: launch, reason: "restart requested"},
		)},
		{"operator/restart a starting server", RestartNo, launched(
			tick{cause: RestartRequested{}, moves: "starting>stopping", act: stop},
			tick{cause: Exit{Code: 143}, moves: "stopping>stopped, stopped>starting", act: launch},
		)},
		{"operator/restart during back-off starts now", RestartOnFailure, up(
			tick{cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
			tick{cause: RestartRequested{}, moves: "backoff>starting", act: launch, reason: "restart requested"},
			tick{wait: 100 * ms, cause: RestartDue{}},
		)},
		{"operator/start during back-off starts now", RestartOnFailure, up(
			tick{cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
			tick{cause: StartRequested{}, moves: "backoff>starting", act: launch, reason: "start requested"},
		)},
		{"operator/restart of a stopped server", RestartOnFailure, up(
			tick{cause: StopRequested{}, moves: "running>stopping", act: stop},
			tick{cause: Exit{}, moves: "stopping>stopped"},
			tick{cause: RestartRequested{}, moves: "stopped>starting", act: launch},
		)},
		{"operator/start while running or starting changes nothing", RestartOnFailure, launched(
			tick{cause: StartRequested{}},
			tick{cause: Registered{}, moves: "starting>running"},
			tick{cause: StartRequested{}},
		)},
		{"operator/start while stopping: start once stopped", RestartOnFailure, up(
			tick{cause: StopRequested{}, moves: "running>stopping", act: stop},
			tick{cause: StartRequested{}},
			tick{cause: Exit{Code: 1}, moves: "stopping>stopped, stopped>starting", act: launch, reason: "start requested"},
		)},
		{"operator/restart while the supervisor kills: start once stopped", RestartOnFailure, up(
			tick{cause: MonitorLost{}, moves: "running>stopping", act: kill},
			tick{cause: RestartRequested{}},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>stopped, stopped>starting", act: launch},
		)},
		{"operator/the latest wish wins: restart, then stop", RestartAlways, up(
			tick{cause: RestartRequested{}, moves: "running>stopping", act: stop},
			tick{cause: StopRequested{}},
			tick{cause: Exit{}, moves: "stopping>stopped"},
		)},
		{"operator/the latest wish wins: restart, then kill", RestartAlways, up(
			tick{cause: RestartRequested{}, moves: "running>stopping", act: stop},
			tick{cause: KillRequested{}, act: kill},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>stopped"},
		)},
		{"operator/stop and kill at rest change nothing", RestartNo, up(
			tick{cause: Exit{Code: 1}, moves: "running>exited"},
			tick{cause: StopRequested{}},
			tick{cause: KillRequested{}},
			tick{cause: RestartRequested{}, moves: "exited>starting", act: launch},
			tick{cause: StopRequested{}, moves: "starting>stopping", act: stop},
			tick{cause: Exit{}, moves: "stopping>stopped"},
			tick{cause: StopRequested{}},
			tick{cause: KillRequested{}},
		)},

		// A restarted master adopts a live process; its exit, of unknown
		// status, goes to the policy as a failure.
		{"adopted/then killed, restart on-failure", RestartOnFailure, []tick{
			{cause: Adopted{Pid: 42}, moves: "stopped>running", reason: "adopted the running process 42"},
			{wait: 2 * time.Second, cause: Exit{Code: -1}, moves: "running>backoff", act: after(100 * ms),
				reason: "exited (status unknown: an adopted process) after 2s; restarting in 100ms"},
		}},
		{"adopted/then stopped by an operator", RestartAlways, []tick{
			{cause: Adopted{Pid: 42}, moves: "stopped>running"},
			{cause: StopRequested{}, moves: "running>stopping", act: stop},
			{cause: Exit{Code: -1}, moves: "stopping>stopped"},
		}},
		{"illegal/adopted while live", RestartAlways, up(
			tick{cause: Adopted{Pid: 7}, err: true},
		)},

		// Contradictions are refused and change nothing; the machine
		// carries on afterwards.
		{"illegal/registered while stopped", RestartAlways, []tick{
			{cause: Registered{}, err: true},
			{cause: Launched{}, err: true},
			{cause: StartRequested{}, moves: "stopped>starting", act: launch},
		}},
		{"illegal/registered or launched while exited", RestartNo, up(
			tick{cause: Exit{Code: 1}, moves: "running>exited"},
			tick{cause: Registered{}, err: true},
			tick{cause: Launched{}, err: true},
		)},
		{"illegal/registered or launched while in back-off", RestartAlways, up(
			tick{cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
			tick{cause: Registered{}, err: true},
			tick{cause: Launched{}, err: true},
			tick{wait: 100 * ms, cause: RestartDue{}, moves: "backoff>starting", act: launch},
		)},
		{"illegal/start failure of a registered server", RestartAlways, up(
			tick{cause: StartFailed{}, err: true},
			tick{cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
		)},
		{"illegal/nil cause", RestartAlways, up(
			tick{cause: nil, err: true},
		)},

		// Facts heard twice, or after the fact, change nothing.
		{"duplicate/exit twice", RestartNo, up(
			tick{cause: Exit{Code: 1}, moves: "running>exited"},
			tick{cause: Exit{Code: 1}},
			tick{cause: StartFailed{}},
		)},
		{"duplicate/exit twice in back-off", RestartOnFailure, up(
			tick{cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
			tick{cause: Exit{Code: 1}},
			tick{cause: Exit{Signal: "SIGKILL"}},
			tick{wait: 100 * ms, cause: RestartDue{}, moves: "backoff>starting", act: launch},
		)},
		{"duplicate/link lost and silence after the exit", RestartOnFailure, up(
			tick{cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
			tick{cause: MonitorLost{}},
			tick{cause: HeartbeatMissed{}},
		)},
		{"duplicate/link lost, then silence, then the exit", RestartOnFailure, up(
			tick{cause: MonitorLost{}, moves: "running>stopping", act: kill},
			tick{cause: MonitorLost{}},
			tick{cause: HeartbeatMissed{}},
			tick{cause: Exit{Signal: "SIGKILL"}, moves: "stopping>backoff", act: after(100 * ms)},
		)},
		{"duplicate/link lost during an operator's stop", RestartOnFailure, up(
			tick{cause: StopRequested{}, moves: "running>stopping", act: stop},
			tick{cause: MonitorLost{}},
			tick{cause: HeartbeatMissed{}},
			tick{cause: Exit{}, moves: "stopping>stopped"},
		)},
		{"duplicate/registered and launched twice", RestartOnFailure, up(
			tick{cause: Registered{}},
			tick{cause: Launched{}},
		)},
		{"duplicate/registration racing a stop", RestartOnFailure, launched(
			tick{cause: StopRequested{}, moves: "starting>stopping", act: stop},
			tick{cause: Registered{}},
		)},
		{"duplicate/stale back-off timer", RestartOnFailure, up(
			tick{cause: RestartDue{}},
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			play(t, policy(tc.policy), tc.script)
		})
	}
}

// TestOperatorNeverRestarts tries every policy, every way an operator can
// stop a server, and every way its process can then end: none of them
// may lead anywhere but Stopped.
func TestOperatorNeverRestarts(t *testing.T) {
	ends := []Cause{Exit{}, Exit{Code: 1}, Exit{Code: 2}, Exit{Signal: "SIGKILL"}, Exit{Signal: "SIGSEGV"}}
	from := []struct {
		name   string
		prefix []tick
	}{
		{"running", up()},
		{"starting", launched()},
	}
	requests := []struct {
		name  string
		ticks []tick // moves holds %s for the state the stop starts from
	}{
		{"stop", []tick{{cause: StopRequested{}, moves: "%s>stopping", act: stop}}},
		{"kill", []tick{{cause: KillRequested{}, moves: "%s>stopping", act: kill}}},
		{"stop then kill", []tick{{cause: StopRequested{}, moves: "%s>stopping", act: stop}, {cause: KillRequested{}, act: kill}}},
		{"supervisor kill, then stop", []tick{{cause: HeartbeatMissed{}, moves: "%s>stopping", act: kill}, {cause: StopRequested{}}}},
		{"supervisor kill, then kill", []tick{{cause: MonitorLost{}, moves: "%s>stopping", act: kill}, {cause: KillRequested{}, act: kill}}},
		{"restart, then stop", []tick{{cause: RestartRequested{}, moves: "%s>stopping", act: stop}, {cause: StopRequested{}}}},
		{"start pending, then kill", []tick{{cause: StopRequested{}, moves: "%s>stopping", act: stop}, {cause: StartRequested{}}, {cause: KillRequested{}, act: kill}}},
	}
	for _, pol := range []Restart{RestartNo, RestartOnFailure, RestartAlways} {
		for _, fr := range from {
			for _, req := range requests {
				for _, end := range ends {
					script := append([]tick(nil), fr.prefix...)
					for _, tk := range req.ticks {
						if tk.moves != "" {
							tk.moves = fmt.Sprintf(tk.moves, fr.name)
						}
						script = append(script, tk)
					}
					script = append(script,
						tick{wait: time.Second, cause: end, moves: "stopping>stopped"},
						tick{wait: time.Hour, cause: RestartDue{}},
					)
					t.Run(fmt.Sprintf("%s/%s/%s/%s", pol, fr.name, req.name, fmtCause(end)), func(t *testing.T) {
						m := play(t, policy(pol), script)
						if m.Restarts() != 0 {
							t.Errorf("input %s: got %d restarts, want 0", fmtInput(script), m.Restarts())
						}
					})
				}
			}
		}
	}
}

// crash runs one attempt from Backoff (or the first start): restart when
// due, launch, run for ran (registering first when ran > 0), exit with
// code 1. It returns the ticks and, as the last one's wanted action, the
// back-off delay want.
func crash(first bool, ran time.Duration, want time.Duration) []tick {
	var ticks []tick
	if first {
		ticks = append(ticks, tick{cause: StartRequested{}, moves: "stopped>starting", act: launch})
	} else {
		ticks = append(ticks, tick{cause: RestartDue{}, moves: "backoff>starting", act: launch})
	}
	ticks = append(ticks, tick{cause: Launched{}})
	from := "starting"
	if ran > 0 {
		ticks = append(ticks, tick{cause: Registered{}, moves: "starting>running"})
		from = "running"
	}
	ticks = append(ticks, tick{wait: ran, cause: Exit{Code: 1}, moves: from + ">backoff", act: after(want),
		reason: fmt.Sprintf("%sexited with code 1 after %s; restarting in %s", map[bool]string{true: "failed to start: "}[ran == 0], human(ran), human(want))})
	// The next tick (a RestartDue) comes when the back-off is over.
	return ticks
}

// waited sets the wait of a script's first tick: the back-off just
// scheduled, so restarts come when due.
func waited(ticks []tick, d time.Duration) []tick {
	ticks[0].wait = d
	return ticks
}

func TestBackoffSequence(t *testing.T) {
	p := policy(RestartOnFailure)
	p.MaxRestarts = 0 // no crash-loop limit: watch the back-off alone
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	var script []tick
	var prev time.Duration
	for i, d := range want {
		script = append(script, waited(crash(i == 0, 0, d), prev)...)
		prev = d
	}
	m := play(t, p, script)
	if got := m.Restarts(); got != len(want)-1 {
		t.Errorf("input %s:\ngot %d restarts, want %d", fmtInput(script), got, len(want)-1)
	}
}

func TestBackoffResetsAfterMinUptime(t *testing.T) {
	tests := []struct {
		name string
		ran  []time.Duration // how long each attempt stayed Running before crashing
		want []time.Duration // the back-off after each crash
	}{
		{"short runs keep doubling", []time.Duration{0, time.Second, 4900 * ms, 0}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms}},
		{"a run of exactly min uptime resets", []time.Duration{0, 0, 5 * time.Second, 0}, []time.Duration{100 * ms, 200 * ms, 100 * ms, 200 * ms}},
		{"a long run resets", []time.Duration{0, 0, 0, time.Hour, time.Second}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 100 * ms, 200 * ms}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := policy(RestartAlways)
			p.MaxRestarts = 0
			var script []tick
			var prev time.Duration
			for i := range tc.ran {
				script = append(script, waited(crash(i == 0, tc.ran[i], tc.want[i]), prev)...)
				prev = tc.want[i]
			}
			play(t, p, script)
		})
	}
}

func TestCrashLoop(t *testing.T) {
	backoff := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms}
	// Five fast crashes, each restarted: the most the policy allows.
	var fiveCrashes []tick
	var prev time.Duration
	for i, d := range backoff {
		fiveCrashes = append(fiveCrashes, waited(crash(i == 0, time.Second, d), prev)...)
		prev = d
	}
	sixth := []tick{
		{wait: 1600 * ms, cause: RestartDue{}, moves: "backoff>starting", act: launch, reason: "restart 5, after a 1.6s back-off"},
		{cause: Launched{}},
		{cause: Exit{Code: 3}, moves: "starting>failed", reason: "failed to start: exited with code 3 after 0ms; 5 restarts in 60s: gave up"},
	}
	// In fiveCrashes the first restart is at 1.1s and the fifth at 8.1s;
	// a crash of the fifth attempt after running 53s is 60s after the first.
	const ranToLeaveWindow = 60*time.Second - 7*time.Second
	tests := []struct {
		name   string
		policy func(*Policy)
		script []tick
	}{
		{"more than max restarts in the window fails", nil, cat(fiveCrashes, sixth,
			[]tick{
				// Failed is terminal: late facts change nothing, life signs are refused.
				{cause: Exit{Code: 3}},
				{cause: MonitorLost{}},
				{cause: RestartDue{}},
				{cause: StopRequested{}},
				{cause: Registered{}, err: true},
				// An operator's restart forgives: fresh back-off, fresh count.
				{wait: time.Minute, cause: RestartRequested{}, moves: "failed>starting", act: launch, reason: "restart requested"},
				{cause: Launched{}},
				{cause: Exit{Code: 1}, moves: "starting>backoff", act: after(100 * ms)},
			},
			// Five more restarts are allowed at once, though the old ones are still in the window.
			waited(crash(false, 0, 200*ms), 100*ms),
			waited(crash(false, 0, 400*ms), 200*ms),
			waited(crash(false, 0, 800*ms), 400*ms),
			waited(crash(false, 0, 1600*ms), 800*ms),
			[]tick{
				{wait: 1600 * ms, cause: RestartDue{}, moves: "backoff>starting", act: launch},
				{cause: Exit{Code: 1}, moves: "starting>failed"},
			},
		)},
		{"restarts that age out of the window do not count", nil, cat(fiveCrashes,
			[]tick{
				{wait: 1600 * ms, cause: RestartDue{}, moves: "backoff>starting", act: launch},
				{cause: Registered{}, moves: "starting>running"},
				// The first restart was 60s ago by now: out of the window.
				{wait: ranToLeaveWindow, cause: Exit{Code: 1}, moves: "running>backoff", act: after(100 * ms)},
			},
		)},
		{"just inside the window still counts", nil, cat(fiveCrashes,
			[]tick{
				{wait: 1600 * ms, cause: RestartDue{}, moves: "backoff>starting", act: launch},
				{cause: Registered{}, moves: "starting>running"},
				{wait: ranToLeaveWindow - time.Nanosecond, cause: Exit{Code: 1}, moves: "running>failed"},
			},
		)},
		{"zero window counts since the last operator start", func(p *Policy) { p.Window = 0; p.MaxRestarts = 1 }, cat(
			waited(crash(true, time.Hour, 100*ms), 0),
			waited(crash(false, time.Hour, 100*ms), 100*ms)[:3],
			[]tick{{wait: time.Hour, cause: Exit{Code: 1}, moves: "running>failed", reason: "exited with code 1 after 1h; 1 restarts since the last start: gave up"}},
		)},
		{"clean exits under on-failure never count", nil, cat(up(
			tick{cause: Exit{}, moves: "running>exited"},
			tick{cause: RestartRequested{}, moves: "exited>starting", act: launch},
			tick{cause: Exit{}, moves: "starting>exited"},
			tick{cause: RestartRequested{}, moves: "exited>starting", act: launch},
			tick{cause: Exit{}, moves: "starting>exited"},
		))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := policy(RestartOnFailure)
			if tc.policy != nil {
				tc.policy(&p)
			}
			play(t, p, tc.script)
		})
	}
}

func cat(parts ...[]tick) []tick {
	var out []tick
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestEvents pins every field of the events of one short life, as the
// admin API will publish them.
func TestEvents(t *testing.T) {
	clk := &fakeClock{now: t0}
	m, err := New("connector-server-2", policy(RestartOnFailure), clk.read)
	if err != nil {
		t.Fatal(err)
	}
	var got []Event
	for _, s := range []struct {
		wait  time.Duration
		cause Cause
	}{
		{0, StartRequested{}}, {0, Launched{}}, {time.Second, Registered{}},
		{time.Minute, Exit{Signal: "SIGSEGV"}}, {100 * ms, RestartDue{}}, {0, Launched{}}, {2 * time.Second, Registered{}},
		{time.Minute, StopRequested{}}, {3 * time.Second, Exit{}},
	} {
		clk.now = clk.now.Add(s.wait)
		evs, _, err := m.Apply(s.cause)
		if err != nil {
			t.Fatalf("%s: %v", fmtCause(s.cause), err)
		}
		got = append(got, evs...)
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	const srv = "connector-server-2"
	want := []Event{
		{srv, Stopped, Starting, "start-requested", "start requested", at(0), 1, 0},
		{srv, Starting, Running, "registered", "registered after 1s", at(time.Second), 2, 0},
		{srv, Running, Backoff, "exited", "killed by SIGSEGV after 61s; restarting in 100ms", at(61 * time.Second), 3, 0},
		{srv, Backoff, Starting, "restart-due", "restart 1, after a 100ms back-off", at(61*time.Second + 100*ms), 4, 1},
		{srv, Starting, Running, "registered", "registered after 2s", at(63*time.Second + 100*ms), 5, 1},
		{srv, Running, Stopping, "stop-requested", "stop requested", at(123*time.Second + 100*ms), 6, 1},
		{srv, Stopping, Stopped, "exited", "exited with code 0 after 65s (stop requested)", at(126*time.Second + 100*ms), 7, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got events\n%s\nwant\n%s", fmtEvents(got), fmtEvents(want))
	}

	b, err := json.Marshal(want[2])
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"server":"connector-server-2","from":"running","to":"backoff","cause":"exited","reason":"killed by SIGSEGV after 61s; restarting in 100ms","at":"2025-03-01T12:01:01Z","seq":3,"restarts":0}`
	if string(b) != wantJSON {
		t.Errorf("JSON of %+v:\ngot  %s\nwant %s", want[2], b, wantJSON)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, want[2]) {
		t.Errorf("JSON round trip of %s: got %+v (%v), want %+v", b, back, err, want[2])
	}
}

func fmtEvents(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %+v\n", e)
	}
	return b.String()
}

func TestTransitionError(t *testing.T) {
	m, err := New("chat-server-1", policy(RestartAlways), nil)
	if err != nil {
		t.Fatal(err)
	}
	evs, act, err := m.Apply(Registered{})
	var te *TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("Registered on a new machine: got error %v, want a *TransitionError", err)
	}
	want := TransitionError{Server: "chat-server-1", State: Stopped, Cause: "registered"}
	if *te != want || evs != nil || act != none {
		t.Errorf("Registered on a new machine: got %+v, %v, %v; want %+v, no events, no action", *te, evs, act, want)
	}
	if got, want := err.Error(), "lifecycle: chat-server-1: illegal transition: registered while stopped"; got != want {
		t.Errorf("Registered on a new machine: got message %q, want %q", got, want)
	}
}

func TestNewRefusesBadPolicy(t *testing.T) {
	good := policy(RestartOnFailure)
	tests := []struct {
		name string
		edit func(*Policy)
		want string // in the error; "" for no error
	}{
		{"default", func(*Policy) {}, ""},
		{"zero back-off", func(p *Policy) { p.BackoffInitial, p.BackoffMax = 0, 0 }, ""},
		{"unknown policy", func(p *Policy) { p.Restart = "sometimes" }, `unknown restart policy "sometimes"`},
		{"empty policy", func(p *Policy) { p.Restart = "" }, `unknown restart policy ""`},
		{"negative window", func(p *Policy) { p.Window = -time.Second }, "window -1s is negative"},
		{"negative min uptime", func(p *Policy) { p.MinUptime = -time.Second }, "min uptime (startsecs) -1s is negative"},
		{"max below initial", func(p *Policy) { p.BackoffMax = 50 * ms }, "backoff max 50ms is shorter than its initial 100ms"},
		{"negative max restarts", func(p *Policy) { p.MaxRestarts = -1 }, "maxRestarts -1 is negative"},
	}
	for _, tc := range tests {
		p := good
		tc.edit(&p)
		m, err := New("gate-server-1", p, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: New(%+v): got error %v, want none", tc.name, p, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || m != nil):
			t.Errorf("%s: New(%+v): got %v, %v; want no machine and an error containing %q", tc.name, p, m, err, tc.want)
		}
	}
}

func TestDelay(t *testing.T) {
	huge := time.Duration(1<<63 - 1)
	tests := []struct {
		initial, max time.Duration
		n            int
		want         time.Duration
	}{
		{100 * ms, 30 * time.Second, 0, 100 * ms},
		{100 * ms, 30 * time.Second, 3, 800 * ms},
		{100 * ms, 30 * time.Second, 9, 30 * time.Second},
		{100 * ms, 30 * time.Second, 1000, 30 * time.Second},
		{100 * ms, 100 * ms, 5, 100 * ms},
		{100 * ms, 400 * ms, 2, 400 * ms},
		{0, 0, 1 << 30, 0},
		{time.Second, huge, 100, huge},
		{huge / 2, huge, 1, huge - 1},
	}
	for _, tc := range tests {
		p := Policy{BackoffInitial: tc.initial, BackoffMax: tc.max}
		if got := p.delay(tc.n); got != tc.want {
			t.Errorf("delay after %d failures, initial %v, max %v: got %v, want %v", tc.n, tc.initial, tc.max, got, tc.want)
		}
	}
}

func TestState(t *testing.T) {
	want := map[State]string{Stopped: "stopped", Starting: "starting", Running: "running", Backoff: "backoff", Stopping: "stopping", Exited: "exited", Failed: "failed"}
	for s := Stopped; s <= Failed; s++ {
		if s.String() != want[s] {
			t.Errorf("State(%d).String(): got %q, want %q", int(s), s.String(), want[s])
		}
		b, err := s.MarshalText()
		var back State
		if err != nil || string(b) != want[s] || back.UnmarshalText(b) != nil || back != s {
			t.Errorf("State %v: got text %q (%v), read back as %v; want %q and back", s, b, err, back, want[s])
		}
		if got := s.Live(); got != (s == Starting || s == Running || s == Stopping) {
			t.Errorf("%v.Live(): got %v", s, got)
		}
	}
	if got := State(42).String(); got != "State(42)" {
		t.Errorf("State(42).String(): got %q, want State(42)", got)
	}
	if _, err := State(-1).MarshalText(); err == nil {
		t.Errorf("State(-1).MarshalText(): got no error, want one")
	}
	var s State
	if err := s.UnmarshalText([]byte("zombie")); err == nil {
		t.Errorf(`UnmarshalText("zombie"): got no error, want one`)
	}
}

func TestHuman(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0ms"}, {400 * ms, "400ms"}, {999 * ms, "999ms"}, {time.Second, "1s"}, {3200 * ms, "3.2s"},
		{3249 * ms, "3.2s"}, {60 * time.Second, "60s"}, {9*time.Minute + 59*time.Second, "599s"},
		{15 * time.Minute, "15m"}, {15*time.Minute + 30*time.Second, "15m30s"}, {time.Hour, "1h"},
		{2*time.Hour + 30*time.Minute, "2h30m"}, {2*time.Hour + 30*time.Minute + 5*time.Second, "2h30m5s"},
	} {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%v): got %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestActionString(t *testing.T) {
	for _, tc := range []struct {
		a    Action
		want string
	}{
		{none, "none"}, {launch, "launch"}, {stop, "stop"}, {kill, "kill"},
		{after(400 * ms), "schedule-restart after 400ms"}, {Action{Kind: 9}, "ActionKind(9)"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("%#v.String(): got %q, want %q", tc.a, got, tc.want)
		}
	}
}
