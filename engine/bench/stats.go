package bench

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the latency samples kept; past it, reservoir sampling keeps
// a uniform sample so that percentiles stay honest on long runs.
const maxSamples = 1 << 20

// latencies collects request latencies from many goroutines.
type latencies struct {
	mu      sync.Mutex
	samples []time.Duration
	seen    int64
	rng     *rand.Rand
}

func newLatencies() *latencies {
	return &latencies{rng: rand.New(rand.NewPCG(1, 2))}
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen++
	if len(l.samples) < maxSamples {
		l.samples = append(l.samples, d)
		return
	}
	if i := l.rng.Int64N(l.seen); i < maxSamples {
		l.samples[i] = d
	}
}

// Percentiles of request latency.
type Percentiles struct {
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

func (l *latencies) percentiles() Percentiles {
	l.mu.Lock()
	s := slices.Clone(l.samples)
	l.mu.Unlock()
	if len(s) == 0 {
		return Percentiles{}
	}
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(int(q*float64(len(s))), len(s)-1)] }
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: s[len(s)-1]}
}
