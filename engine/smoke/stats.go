package smoke

import (
	"sync"
	"sync/atomic"
)

// maxFailures is how many failures a result keeps word for word; the
// count is of all of them.
const maxFailures = 20

// stats counts what a scenario's bots did, from all of them at once.
type stats struct {
	requests, failures, pushes, dropped, loggedIn, disconnects atomic.Int64

	mu    sync.Mutex
	first []Failure
}

func (s *stats) request()     { s.requests.Add(1) }
func (s *stats) failed()      { s.failures.Add(1) }
func (s *stats) push()        { s.pushes.Add(1) }
func (s *stats) droppedPush() { s.dropped.Add(1) }

func (s *stats) counts(bots int) Counts {
	return Counts{Bots: bots, LoggedIn: s.loggedIn.Load(), Requests: s.requests.Load(), Failed: s.failures.Load(),
		Pushes: s.pushes.Load(), Disconnects: s.disconnects.Load(), Dropped: s.dropped.Load()}
}

// record keeps a failure's words, for the first few.
func (s *stats) record(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.first) < maxFailures {
		s.first = append(s.first, f)
	}
}

func (s *stats) failuresKept() []Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Failure(nil), s.first...)
}
