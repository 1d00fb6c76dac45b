package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Term is a leader's time in office: a lease on its ZooKeeper session,
// renewed by a round trip every quarter of the granted session timeout.
// It ends (Lost) on the leader's own clock, a fifth of the timeout before
// the ensemble could expire the session: the ensemble expires a session a
// timeout after it last heard from it, which is after the start of the
// last round trip that came back, so that another master is elected only
// after this one has stopped acting. A leader acts only while Valid.
type Term struct {
	// Epoch is the term's number: one more than every earlier term's.
	Epoch uint64

	s    *Session
	node string

	mu    sync.Mutex
	until time.Time // the lease's end
	err   error     // why the term ended
	lost  chan struct{}
	stop  chan struct{} // closed by end
	done  sync.WaitGroup
}

func (s *Session) newTerm(node string, floor uint64) (*Term, error) {
	// The lease starts before the epoch's round trip: the node was this
	// session's, and confirmed, just now.
	start := time.Now()
	epoch, err := s.nextEpoch(floor)
	if err != nil {
		return nil, err
	}
	t := &Term{Epoch: epoch, s: s, node: node, lost: make(chan struct{}), stop: make(chan struct{})}
	t.until = start.Add(t.lease())
	events, unwatch := s.watch()
	t.done.Go(func() { defer unwatch(); t.renew(events) })
	return t, nil
}

// lease is how long a confirmation holds: the granted timeout less a
// fifth of it.
func (t *Term) lease() time.Duration {
	g := t.s.Granted()
	return g - g/5
}

// renew confirms the lease every quarter of the timeout, and ends the
// term when the lease runs out unconfirmed, the session expires, or the
// node is gone.
func (t *Term) renew(events <-chan zk.Event) {
	confirmed := make(chan time.Time, 1)
	failed := make(chan error, 1)
	go t.confirmLoop(confirmed, failed)
	for {
		t.mu.Lock()
		left := time.Until(t.until)
		t.mu.Unlock()
		timer := time.NewTimer(max(left, 0))
		select {
		case <-t.stop:
			timer.Stop()
			return
		case start := <-confirmed:
			timer.Stop()
			t.mu.Lock()
			if until := start.Add(t.lease()); until.After(t.until) {
				t.until = until
			}
			t.mu.Unlock()
		case err := <-failed:
			timer.Stop()
			t.end(err)
			return
		case ev := <-events:
			timer.Stop()
			if ev.State == zk.StateExpired {
				t.end(errors.New("the ZooKeeper session expired"))
				return
			}
		case <-timer.C:
			t.end(fmt.Errorf("the ZooKeeper session was not confirmed within %s", t.lease()))
			return
		}
	}
}

// confirmLoop makes a round trip every quarter of the timeout and says
// when one that started at a time came back with the node there.
func (t *Term) confirmLoop(confirmed chan<- time.Time, failed chan<- error) {
	path := t.s.cfg.Path + "/election/" + t.node
	for {
		start := time.Now()
		exists, _, err := t.s.conn.Exists(path)
		switch {
		case err == nil && exists:
			select {
			case confirmed <- start:
			default:
			}
		case err == nil:
			failed <- errors.New("the leader's election node is gone")
			return
		}
		select {
		case <-t.stop:
			return
		case <-time.After(max(t.s.Granted()/4, 10*time.Millisecond) - time.Since(start)):
		}
	}
}

// Valid reports whether the term still holds: a master acts as leader
// only while it does. After a freeze (SIGSTOP) past the lease, it is
// false at once, before the timer that ends the term has run.
func (t *Term) Valid() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err == nil && time.Now().Before(t.until)
}

// Lost is closed when the term ends.
func (t *Term) Lost() <-chan struct{} { return t.lost }

// Err says why the term ended, or nil while it holds.
func (t *Term) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func (t *Term) end(why error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return
	}
	t.err = why
	close(t.lost)
	close(t.stop)
}

// Leader is what the leader publishes, and servers and standbys follow.
type Leader struct {
	ID    string `json:"id"`
	Addr  string `json:"addr"`
	Epoch uint64 `json:"epoch"`
}

// Publish says this master leads, at its admin address: once it has
// adopted the cluster and is ready. The record is an ephemeral node,
// gone with the session.
func (t *Term) Publish(ctx context.Context) error {
	data, err := json.Marshal(Leader{ID: t.s.cfg.ID, Addr: t.s.cfg.Addr, Epoch: t.Epoch})
	if err != nil {
		return err
	}
	path := t.s.cfg.Path + "/leader"
	for {
		if !t.Valid() {
			return fmt.Errorf("not published: the term ended: %w", t.Err())
		}
		_, err := t.s.conn.Create(path, data, zk.FlagEphemeral, t.s.acl)
		if err == nil {
			return nil
		}
		if !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("ZooKeeper: publish the leader in %s: %w", path, err)
		}
		// The last leader's record, whose session has not quite gone.
		exists, _, gone, err := t.s.conn.ExistsW(path)
		if err != nil {
			return fmt.Errorf("ZooKeeper: watch %s: %w", path, err)
		}
		if !exists {
			continue
		}
		select {
		case <-gone:
		case <-t.lost:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Resign ends the term and hands over at once: the leader's record and
// its node go, and the next candidate leads without waiting for a
// timeout. The session stays, for the master to campaign again or close.
func (t *Term) Resign() error {
	t.end(errors.New("resigned"))
	t.done.Wait()
	var errs []error
	for _, p := range []string{t.s.cfg.Path + "/leader", t.s.cfg.Path + "/election/" + t.node} {
		if p == t.s.cfg.Path+"/leader" && !t.owns(p) {
			continue
		}
		if err := t.s.conn.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			errs = append(errs, fmt.Errorf("ZooKeeper: delete %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// owns reports whether the leader record at path is this term's.
func (t *Term) owns(path string) bool {
	data, stat, err := t.s.conn.Get(path)
	if err != nil {
		return false
	}
	var l Leader
	return json.Unmarshal(data, &l) == nil && l.Epoch == t.Epoch && l.ID == t.s.cfg.ID && stat.EphemeralOwner == t.s.conn.SessionID()
}

// Leader is the published leader, and whether there is one.
func (s *Session) Leader() (Leader, bool, error) {
	data, _, err := s.conn.Get(s.cfg.Path + "/leader")
	if errors.Is(err, zk.ErrNoNode) {
		return Leader{}, false, nil
	}
	if err != nil {
		return Leader{}, false, fmt.Errorf("ZooKeeper: read %s/leader: %w", s.cfg.Path, err)
	}
	var l Leader
	if err := json.Unmarshal(data, &l); err != nil {
		return Leader{}, false, fmt.Errorf("ZooKeeper: %s/leader holds %q: %w", s.cfg.Path, data, err)
	}
	return l, true, nil
}

// WatchLeader calls fn with the published leader (ok false while there is
// none) now and at each change, until ctx ends.
func (s *Session) WatchLeader(ctx context.Context, fn func(l Leader, ok bool)) {
	path := s.cfg.Path + "/leader"
	for ctx.Err() == nil {
		exists, _, changed, err := s.conn.ExistsW(path)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if exists {
			l, ok, err := s.Leader()
			if err == nil {
				fn(l, ok)
			}
		} else {
			fn(Leader{}, false)
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
}
