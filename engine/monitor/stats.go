package monitor

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Counters are the figures only a server's own code knows, counted as they
// happen and read by the stats of each heartbeat. The zero value is ready;
// every method is safe from any goroutine.
type Counters struct {
	connections atomic.Int64
	requests    atomic.Uint64
	errors      atomic.Uint64
}

// AddConnections adds n to the open client connections: 1 when a client
// connects, -1 when it goes.
func (c *Counters) AddConnections(n int64) { c.connections.Add(n) }

// AddRequests counts n handled requests.
func (c *Counters) AddRequests(n uint64) { c.requests.Add(n) }

// AddErrors counts n errors.
func (c *Counters) AddErrors(n uint64) { c.errors.Add(n) }

// userHZ is the unit of /proc's CPU times. The kernel fixes it at 100 for
// user space on every architecture Go runs Linux on, whatever its own tick
// rate, and reading it properly (sysconf) would need cgo.
const userHZ = 100

// ProcessStats returns a Stats function for AgentConfig.Stats: this
// process's CPU use and RSS from /proc, its goroutines, and the counters c
// (nil for none). CPU and requests per second are averages since the
// previous call (the first call: since ProcessStats), so call it at the
// heartbeat's pace. Where /proc is missing (not Linux), CPU and RSS are 0.
func ProcessStats(c *Counters) func() Stats {
	if c == nil {
		c = &Counters{}
	}
	s := &sampler{c: c}
	s.ticks, s.ticksOK = cpuTicks()
	s.at = time.Now()
	s.requests = c.requests.Load()
	return s.sample
}

// sampler holds what the previous sample saw, to take differences.
type sampler struct {
	c        *Counters
	mu       sync.Mutex
	at       time.Time
	ticks    uint64
	ticksOK  bool
	requests uint64
}

func (s *sampler) sample() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	ticks, ok := cpuTicks()
	requests := s.c.requests.Load()
	st := Stats{
		RSS:         rss(),
		Goroutines:  runtime.NumGoroutine(),
		Connections: s.c.connections.Load(),
		Errors:      s.c.errors.Load(),
	}
	if secs := now.Sub(s.at).Seconds(); secs > 0 {
		if ok && s.ticksOK && ticks >= s.ticks {
			st.CPU = float64(ticks-s.ticks) / userHZ / secs * 100
		}
		st.RequestsPerSecond = float64(requests-s.requests) / secs
	}
	s.at, s.ticks, s.ticksOK, s.requests = now, ticks, ok, requests
	return st
}

// cpuTicks reads this process's user and system CPU time, in userHZ ticks,
// from /proc/self/stat.
func cpuTicks() (uint64, bool) {
	fields, err := selfStat()
	if err != nil {
		return 0, false
	}
	// Fields 14 and 15 (utime, stime); fields holds field 3 onwards.
	const utime, stime = 14 - 3, 15 - 3
	u, err1 := strconv.ParseUint(string(fields[utime]), 10, 64)
	s, err2 := strconv.ParseUint(string(fields[stime]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + s, true
}

// selfStat returns the fields of /proc/self/stat after the command name,
// which is in parentheses and may hold spaces: fields[0] is field 3.
func selfStat() ([][]byte, error) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, errors.New("/proc/self/stat: no command name")
	}
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 15-2 {
		return nil, errors.New("/proc/self/stat: too few fields")
	}
	return fields, nil
}

// rss reads the resident set size from /proc/self/statm (its second field,
// in pages), or 0 without /proc.
func rss() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := bytes.Fields(data)
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
