package lifecycle

import (
	"errors"
	"fmt"
	"time"
)

// Restart says which exits the supervisor answers with a restart. The
// values are the words of the topology's `restart:` key.
type Restart string

const (
	// RestartNo never restarts: an exit leaves the server Exited.
	// It is Pomelo's default.
	RestartNo Restart = "no"
	// RestartOnFailure restarts after a failure: a non-zero exit, a kill by
	// a signal no operator asked for, a failure to start, or a kill after a
	// lost monitor link or missed heartbeats. A clean exit (code 0) is
	// respected. Pomelo's `auto-restart: true` maps here.
	RestartOnFailure Restart = "on-failure"
	// RestartAlways restarts after any exit no operator asked for.
	RestartAlways Restart = "always"
)

// Policy is one server's supervision settings, as the topology's
// `restart:` key gives them (topology.Restart, converted by the master).
type Policy struct {
	Restart Restart

	// MinUptime is how long a server must stay Running for its next
	// failure to be treated as a fresh one: the back-off starts again from
	// BackoffInitial. It tells a crash after a long, healthy run from a
	// server that keeps falling over. The topology calls it startsecs, after
	// supervisord; the name here is pm2's min_uptime, because Go lint rules
	// keep units out of a Duration's name.
	MinUptime time.Duration

	// BackoffInitial is the delay before the first restart; each
	// consecutive failure doubles it, up to BackoffMax.
	BackoffInitial time.Duration
	BackoffMax     time.Duration

	// MaxRestarts is how many restarts within Window the supervisor makes
	// before giving up (Failed); 0 means no limit. Window 0 means restarts
	// never age out: they count from the last operator start.
	MaxRestarts int
	Window      time.Duration
}

// Validate reports what makes p unusable. The topology's checks already
// refuse these with positions in the file; this catches a master that
// built a Policy by hand.
func (p Policy) Validate() error {
	var errs []error
	switch p.Restart {
	case RestartNo, RestartOnFailure, RestartAlways:
	default:
		errs = append(errs, fmt.Errorf("unknown restart policy %q (want no, on-failure or always)", p.Restart))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"min uptime (startsecs)", p.MinUptime}, {"backoff initial", p.BackoffInitial}, {"backoff max", p.BackoffMax}, {"window", p.Window}} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s %s is negative", d.name, d.d))
		}
	}
	if p.BackoffMax < p.BackoffInitial {
		errs = append(errs, fmt.Errorf("backoff max %s is shorter than its initial %s", p.BackoffMax, p.BackoffInitial))
	}
	if p.MaxRestarts < 0 {
		errs = append(errs, fmt.Errorf("maxRestarts %d is negative", p.MaxRestarts))
	}
	return errors.Join(errs...)
}

// restarts reports whether the policy answers an exit with a restart.
func (p Policy) restarts(failed bool) bool {
	return p.Restart == RestartAlways || p.Restart == RestartOnFailure && failed
}

// delay is the back-off before the restart that follows n consecutive
// earlier failures: BackoffInitial doubled n times, capped at BackoffMax.
func (p Policy) delay(n int) time.Duration {
	d := p.BackoffInitial
	for range n {
		// d > max-d is 2d > max without the overflow 2d could hit near
		// the largest durations; Validate keeps d <= max, so max-d >= 0.
		switch {
		case d == 0: // doubling nothing is nothing; no need to loop n times
			return 0
		case d > p.BackoffMax-d:
			return p.BackoffMax
		}
		d *= 2
	}
	return d
}
