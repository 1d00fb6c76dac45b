package bench

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestStatusFractionAndRate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		s        Status
		fraction float64
		rate     float64
	}{
		{"timed, half way", Status{Total: 10 * time.Second, Elapsed: 5 * time.Second, Done: 500}, 0.5, 100},
		{"timed, past its end while draining", Status{Total: 10 * time.Second, Elapsed: 11 * time.Second}, 1, 0},
		{"counted, failures count as reached", Status{Of: 100, Done: 20, Errors: 5, Elapsed: time.Second}, 0.25, 20},
		{"not started", Status{Of: 100}, 0, 0},
		{"neither timed nor counted", Status{Elapsed: time.Second, Done: 3}, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Fraction(); got != tc.fraction {
				t.Errorf("%+v: Fraction() = %v, want %v", tc.s, got, tc.fraction)
			}
			if got := tc.s.Rate(); got != tc.rate {
				t.Errorf("%+v: Rate() = %v, want %v", tc.s, got, tc.rate)
			}
		})
	}
}

// recorder is a Progress that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	updates []Status
	ends    []Status
}

func (r *recorder) Update(s Status) { r.mu.Lock(); r.updates = append(r.updates, s); r.mu.Unlock() }
func (r *recorder) End(s Status)    { r.mu.Lock(); r.ends = append(r.ends, s); r.mu.Unlock() }

// TestProgressReportsUntilStopped: a phase is sampled while it runs, and its
// end is reported once, with the counters' last values, before stop returns.
func TestProgressReportsUntilStopped(t *testing.T) {
	r := &recorder{}
	var done, failed atomic.Int64
	stop := progress(r, Status{Phase: "echo", Unit: "req", Total: time.Second}, &done, &failed)
	for range 5 {
		done.Add(10)
		time.Sleep(sampleEvery)
	}
	done.Add(1)
	failed.Add(2)
	stop()
	if len(r.updates) < 2 {
		t.Errorf("%d updates in %s, want one every %s", len(r.updates), 5*sampleEvery, sampleEvery)
	}
	for _, u := range r.updates {
		if u.Phase != "echo" || u.Unit != "req" || u.Total != time.Second || u.Elapsed <= 0 {
			t.Errorf("update %+v does not carry the phase's figures", u)
		}
	}
	if len(r.ends) != 1 || r.ends[0].Done != 51 || r.ends[0].Errors != 2 || r.ends[0].Elapsed < 5*sampleEvery {
		t.Errorf("ends %+v, want one with 51 done, 2 errors", r.ends)
	}

	// A phase that only waits has no counters.
	r = &recorder{}
	progress(r, Status{Phase: "idle hold", Total: time.Second}, nil, nil)()
	if len(r.ends) != 1 || r.ends[0].Done != 0 {
		t.Errorf("a phase without counters: ends %+v", r.ends)
	}
	// No Progress, nothing to do.
	progress(nil, Status{}, &done, &failed)()
}
