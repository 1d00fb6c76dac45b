package bench

import (
	"sync/atomic"
	"time"
)

// Progress shows how a run goes while it runs. A run is one or more phases
// (fanout's logins, then its sending window); each phase calls Update a few
// times a second and End once with its last figures. Calls come from one
// goroutine at a time. How the figures are shown — a bar, plain lines — is
// the caller's choice: the command line knows whether it writes to a terminal.
type Progress interface {
	Update(Status)
	End(Status)
}

// Status is one phase's figures so far. A phase either runs for Total (a
// timed load) or until Of things are done or failed (logins).
type Status struct {
	Phase   string // "echo", "fanout login", …
	Unit    string // what Done counts: "req", "logins", …; "" when nothing is counted
	Elapsed time.Duration
	Total   time.Duration // the phase's planned length; 0 when it counts to Of
	Of      int64         // how many the phase counts to; 0 when it is timed
	Done    int64
	Errors  int64
}

// Fraction is how far the phase is, between 0 and 1. A timed phase may run
// past its Total (fanout waits for pushes still on their way).
func (s Status) Fraction() float64 {
	var f float64
	switch {
	case s.Total > 0:
		f = float64(s.Elapsed) / float64(s.Total)
	case s.Of > 0:
		f = float64(s.Done+s.Errors) / float64(s.Of)
	}
	return min(max(f, 0), 1)
}

// Rate is Done per second since the phase began.
func (s Status) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Done) / s.Elapsed.Seconds()
}

// sampleEvery is how often a phase's counters are read for its Progress,
// which may show fewer of them: often enough for a bar to move smoothly.
const sampleEvery = 200 * time.Millisecond

// progress reports the phase s to p, reading done and failed (nil when the
// phase only waits), from now until the returned func is called, which
// reports the end and returns once it has been shown.
func progress(p Progress, s Status, done, failed *atomic.Int64) func() {
	if p == nil {
		return func() {}
	}
	start := time.Now()
	sample := func() Status {
		s.Elapsed = time.Since(start)
		if done != nil {
			s.Done, s.Errors = done.Load(), failed.Load()
		}
		return s
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				p.End(sample())
				return
			case <-tick.C:
				p.Update(sample())
			}
		}
	}()
	return func() { close(stop); <-finished }
}
