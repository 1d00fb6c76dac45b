package monitor

import (
	"runtime"
	"testing"
	"time"
)

func TestProcessStats(t *testing.T) {
	var c Counters
	sample := ProcessStats(&c)
	c.AddConnections(3)
	c.AddConnections(-1)
	c.AddRequests(50)
	c.AddErrors(2)

	// Burn CPU until /proc shows it, so the next sample has something to
	// report whatever the machine's speed.
	if runtime.GOOS == "linux" {
		start, ok := cpuTicks()
		if !ok {
			t.Fatal("cannot read /proc/self/stat on Linux")
		}
		deadline := time.Now().Add(wait)
		x := 0
		for now, _ := cpuTicks(); now == start && time.Now().Before(deadline); now, _ = cpuTicks() {
			for i := range 100000 {
				x += i
			}
		}
		_ = x
	}
	s := sample()
	if s.Connections != 2 || s.Errors != 2 {
		t.Errorf("connections %d, errors %d; want 2 and 2", s.Connections, s.Errors)
	}
	if s.RequestsPerSecond <= 0 {
		t.Errorf("requests per second = %g after 50 requests; want > 0", s.RequestsPerSecond)
	}
	if s.Goroutines < 1 {
		t.Errorf("goroutines = %d; want at least 1", s.Goroutines)
	}
	if runtime.GOOS == "linux" {
		if s.CPU <= 0 {
			t.Errorf("cpu = %g%% after burning CPU; want > 0", s.CPU)
		}
		if s.RSS < 1<<20 {
			t.Errorf("rss = %d bytes; want at least 1 MiB for a Go test binary", s.RSS)
		}
	}

	// No requests since: the rate drops to zero, the error total stays.
	s = sample()
	if s.RequestsPerSecond != 0 || s.Errors != 2 {
		t.Errorf("second sample: %g requests/s, %d errors; want 0 and 2", s.RequestsPerSecond, s.Errors)
	}
}

func TestProcessStatsWithoutCounters(t *testing.T) {
	s := ProcessStats(nil)()
	if s.Connections != 0 || s.Errors != 0 || s.RequestsPerSecond != 0 {
		t.Errorf("stats without counters = %+v; want zero counters", s)
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
	var steps []time.Duration
	for d := b.Initial; len(steps) < 9; d = b.next(d) {
		steps = append(steps, d)
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000}
	for i := range want {
		if steps[i] != want[i]*time.Millisecond {
			t.Fatalf("steps = %v; want %v ms", steps, want)
		}
	}
	for range 1000 {
		if j := jitter(time.Second); j < 500*time.Millisecond || j > time.Second {
			t.Fatalf("jitter(1s) = %v; want between 500ms and 1s", j)
		}
	}
}
