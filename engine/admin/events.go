package admin

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kinds of Event.
const (
	// KindSnapshot opens a stream that does not resume: every server and
	// the master as they are (Servers, Master).
	KindSnapshot = "snapshot"
	// KindServer is a server's change of state (Server).
	KindServer = "server"
	// KindStats is every server and the master, once a second while anyone
	// listens (Servers, Master): what changes without an event, cpu, rss,
	// connections, requests.
	KindStats = "stats"
	// KindReady says that every server has been running at once.
	KindReady = "ready"
	// KindNote is a line an operator's tool posted for everyone watching
	// (Note): a rollout's progress. Notes are not kept for streams that
	// resume.
	KindNote = "note"
	// KindEnd is the last event of a stream (Reason): the master stops,
	// is no longer the leader, or dropped a reader that fell behind.
	KindEnd = "end"
)

// Event is one item of the admin API's event stream (GET /api/v1/events).
type Event struct {
	// ID is "EPOCH-SEQ": resume the stream after it with ?since=ID (or
	// Last-Event-ID). Stats and snapshots carry the ID of the last server
	// event before them.
	ID      string         `json:"id"`
	Kind    string         `json:"kind"`
	At      time.Time      `json:"at"`
	Server  *ServerEvent   `json:"server,omitempty"`
	Servers []ServerStatus `json:"servers,omitempty"`
	Master  *MasterInfo    `json:"master,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Note    string         `json:"note,omitempty"`
}

// ServerEvent is a server's change of state, with why.
type ServerEvent struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	From     string `json:"from"`
	To       string `json:"to"`
	Reason   string `json:"reason"`
	Pid      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
}

// Journal keeps a master's recent server events and hands every event to
// the streams that listen. Publishing never waits for a reader: each has
// a bounded buffer, and one that lets it fill is dropped, its stream
// ended with the reason.
type Journal struct {
	epoch  uint64
	keep   int // server events kept for streams that resume
	buffer int // events a reader may have unread before it is dropped

	mu     sync.Mutex
	seq    uint64
	ring   []Event // the last keep server events, oldest first
	subs   map[*Subscription]struct{}
	closed string // why, once Close has run
}

// Subscription is one reader's events.
type Subscription struct {
	// C delivers the events; it is closed when the stream ends, and Reason
	// then says why.
	C      <-chan Event
	c      chan Event
	j      *Journal
	reason string
}

// NewJournal returns the journal of a master in its epoch, keeping keep
// server events for resumption and dropping a reader with buffer events
// unread.
func NewJournal(epoch uint64, keep, buffer int) *Journal {
	return &Journal{epoch: epoch, keep: keep, buffer: buffer, subs: map[*Subscription]struct{}{}}
}

// lastID is the ID of the last server event (with mu held).
func (j *Journal) lastID() string { return fmt.Sprintf("%d-%d", j.epoch, j.seq) }

// Publish stamps e and hands it to every reader. Server events get the
// next ID and are kept for resumption; the others carry the last one.
func (j *Journal) Publish(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed != "" {
		return
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Kind == KindServer || e.Kind == KindReady {
		j.seq++
		e.ID = j.lastID()
		if len(j.ring) == j.keep {
			copy(j.ring, j.ring[1:])
			j.ring = j.ring[:len(j.ring)-1]
		}
		j.ring = append(j.ring, e)
	} else {
		e.ID = j.lastID()
	}
	for s := range j.subs {
		select {
		case s.c <- e:
		default:
			j.drop(s, fmt.Sprintf("the reader fell %d events behind", j.buffer))
		}
	}
}

// drop ends s's stream (with mu held).
func (j *Journal) drop(s *Subscription, why string) {
	delete(j.subs, s)
	s.reason = why
	close(s.c)
}

// Subscribe starts a reader after event since ("" for none). When since
// is this journal's and still kept, replay holds every server event after
// it and resumed is true; otherwise the reader should start from a
// snapshot, which then stands for every event up to last.
func (j *Journal) Subscribe(since string) (s *Subscription, replay []Event, resumed bool, last string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := make(chan Event, j.buffer)
	s = &Subscription{C: c, c: c, j: j}
	if j.closed != "" {
		s.reason = j.closed
		close(c)
		return s, nil, false, j.lastID()
	}
	j.subs[s] = struct{}{}
	if epoch, seq, ok := parseID(since); ok && epoch == j.epoch && seq <= j.seq {
		first := j.seq + 1 - uint64(len(j.ring)) // the oldest kept
		if seq+1 >= first {
			return s, append([]Event(nil), j.ring[seq+1-first:]...), true, j.lastID()
		}
	}
	return s, nil, false, j.lastID()
}

// Listening reports whether any reader listens: stats are worth making.
func (j *Journal) Listening() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.subs) > 0
}

// Close ends every stream with why, and every later one at once.
func (j *Journal) Close(why string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed != "" {
		return
	}
	j.closed = why
	for s := range j.subs {
		j.drop(s, why)
	}
}

// Close stops the reader.
func (s *Subscription) Close() {
	s.j.mu.Lock()
	defer s.j.mu.Unlock()
	if _, ok := s.j.subs[s]; ok {
		delete(s.j.subs, s)
		close(s.c)
	}
}

// Reason says why the stream ended, once C is closed.
func (s *Subscription) Reason() string {
	s.j.mu.Lock()
	defer s.j.mu.Unlock()
	return s.reason
}

// parseID reads "EPOCH-SEQ".
func parseID(id string) (epoch, seq uint64, ok bool) {
	e, n, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	epoch, err1 := strconv.ParseUint(e, 10, 64)
	seq, err2 := strconv.ParseUint(n, 10, 64)
	return epoch, seq, err1 == nil && err2 == nil
}
