package monitor

import (
	"context"
	"sync"
	"time"
)

// EventKind says what happened to a member.
type EventKind int

const (
	// Joined: a server registered (for the first time with this master, or
	// again after its link dropped). Its process is up.
	Joined EventKind = iota + 1
	// Left: a member's link closed. Event.Bye tells a deliberate stop (the
	// agent said bye) from a dropped link (crash, kill, network).
	Left
	// Lost: a member sent no heartbeat within the hub's HeartbeatTimeout
	// though its link was open — a hung server. The hub has closed the link
	// and removed the member; the process is probably still there.
	Lost
	// Heartbeat: a member's stats arrived. Subscribers that fall behind get
	// only the newest heartbeat of each member.
	Heartbeat
)

func (k EventKind) String() string {
	switch k {
	case Joined:
		return "joined"
	case Left:
		return "left"
	case Lost:
		return "lost"
	case Heartbeat:
		return "heartbeat"
	}
	return "unknown"
}

// Event is something that happened to a member, as the hub saw it.
type Event struct {
	Kind   EventKind
	Member Member // as it was at the event; Heartbeat carries the new stats
	Time   time.Time
	// Reason says why a member left or was lost, in an operator's words: the
	// agent's bye reason, or what closed the link.
	Reason string
	// Bye is set on Left when the agent said goodbye: the server is stopping
	// on purpose (or fenced this master off) and is not to be restarted for
	// it.
	Bye bool
	// Fenced is set on Left when the agent refused this master because it
	// has seen a higher epoch: this master is stale and should step down.
	Fenced bool
}

// subscriber is one Subscribe caller's queue. The hub must never wait for a
// subscriber (it holds its lock while it publishes, so that events come out
// in the order membership changed), so events queue here and a pump
// goroutine hands them over. Membership events are never dropped — a
// supervisor that missed a Left would never restart the server — and there
// are only as many as there are joins and leaves; heartbeats, one per member
// per second, are collapsed to the newest per member while they wait, so the
// queue of a slow subscriber stays as long as the cluster is large.
type subscriber struct {
	mu      sync.Mutex
	queue   []*Event
	pending map[string]*Event // member id → its heartbeat waiting in queue
	wake    chan struct{}     // 1-buffered: there is something in queue
	out     chan Event
}

func newSubscriber() *subscriber {
	return &subscriber{
		pending: map[string]*Event{},
		wake:    make(chan struct{}, 1),
		out:     make(chan Event),
	}
}

// push queues e without blocking.
func (s *subscriber) push(e Event) {
	s.mu.Lock()
	if e.Kind == Heartbeat {
		if p := s.pending[e.Member.ID]; p != nil {
			*p = e
			s.mu.Unlock()
			return
		}
		s.pending[e.Member.ID] = &e
	} else {
		// A heartbeat after this event must queue after it: folded into
		// one before it, it would show a new process's stats (after a
		// Left and a Joined) as the old one's.
		delete(s.pending, e.Member.ID)
	}
	s.queue = append(s.queue, &e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest queued event.
func (s *subscriber) pop() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return Event{}, false
	}
	e := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	if s.pending[e.Member.ID] == e {
		delete(s.pending, e.Member.ID)
	}
	return *e, true
}

// pump hands queued events to the subscriber until ctx or stop ends, then
// closes its channel.
func (s *subscriber) pump(ctx context.Context, stop <-chan struct{}) {
	defer close(s.out)
	for {
		e, ok := s.pop()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			case <-stop:
				return
			}
		}
		select {
		case s.out <- e:
		case <-ctx.Done():
			return
		case <-stop:
			return
		}
	}
}
