package ha

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// Candidate is a master in the election, as the others see it.
type Candidate struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	Seq  int64  `json:"-"` // its node's sequence number: the lowest leads
	Node string `json:"-"` // its node's name under PATH/election
}

// Candidates lists the masters in the election, in the order they lead.
func (s *Session) Candidates() ([]Candidate, error) {
	names, _, err := s.conn.Children(s.cfg.Path + "/election")
	if err != nil {
		return nil, fmt.Errorf("ZooKeeper: list %s/election: %w", s.cfg.Path, err)
	}
	out := make([]Candidate, 0, len(names))
	for _, name := range names {
		seq, ok := Sequence(name)
		if !ok {
			continue // not a candidate's: left alone
		}
		c := Candidate{Seq: seq, Node: name}
		if data, _, err := s.conn.Get(s.cfg.Path + "/election/" + name); err == nil {
			_ = json.Unmarshal(data, &c)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Candidate) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// Sequence is the number ZooKeeper appended to a sequential node's name
// (ten digits, from 0000000000), as a number: in Pomelo's plugin, which
// compared the names, "…-n_0000000010" came before "…-n_0000000009" for
// nobody and after it for somebody.
func Sequence(name string) (int64, bool) {
	i := strings.LastIndex(name, "-n_")
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(name[i+len("-n_"):], 10, 64)
	return n, err == nil && n >= 0
}

// Campaign enters this master in the election and waits until it leads:
// until every candidate before it has gone. It then starts its term, with
// an epoch above floor (the highest this master has seen) and above every
// earlier term's. It returns early with ctx's error. A session that
// expires while it waits loses its place: it enters again, at the back.
func (s *Session) Campaign(ctx context.Context, floor uint64) (*Term, error) {
	events, stop := s.watch()
	defer stop()
	data, err := json.Marshal(Candidate{ID: s.cfg.ID, Addr: s.cfg.Addr})
	if err != nil {
		return nil, err
	}
	node := ""
	for {
		if err := ctx.Err(); err != nil {
			s.withdraw(node)
			return nil, err
		}
		if node == "" {
			path, err := s.conn.CreateProtectedEphemeralSequential(s.cfg.Path+"/election/n_", data, s.acl)
			if transient(err) {
				s.log.Debug("ha: could not enter the election yet; trying again", "err", err)
				s.pause(ctx) // the session is being re-established
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("ZooKeeper: enter the election under %s: %w", s.cfg.Path, err)
			}
			node = path[strings.LastIndex(path, "/")+1:]
			s.log.Debug("ha: entered the election", "node", node)
		}
		all, err := s.Candidates()
		if transient(err) {
			s.pause(ctx)
			continue
		}
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(all, func(c Candidate) bool { return c.Node == node })
		switch {
		case i < 0: // the session expired and took the node with it
			node = ""
			continue
		case i == 0:
			return s.newTerm(node, floor)
		}
		// Watch only the candidate just before this one: when it goes,
		// this one leads or watches the next before it, and the others
		// are not woken at all (no herd at each change).
		exists, _, changed, err := s.conn.ExistsW(s.cfg.Path + "/election/" + all[i-1].Node)
		if transient(err) {
			s.pause(ctx)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ZooKeeper: watch %s: %w", all[i-1].Node, err)
		}
		if !exists {
			continue
		}
		s.log.Debug("ha: waiting for the candidate before this one", "node", node, "before", all[i-1].Node, "master", all[i-1].ID)
		select {
		case ev := <-changed:
			s.log.Debug("ha: the candidate before this one changed", "event", ev.Type.String(), "state", ev.State.String(), "err", ev.Err)
		case ev := <-events:
			s.log.Debug("ha: session event while waiting", "state", ev.State.String())
			if ev.State == zk.StateExpired {
				node = ""
			}
		case <-ctx.Done():
		}
	}
}

// transient reports an error of a session that go-zookeeper is
// re-establishing (a cut connection, an expired session, an ensemble
// restarting): campaigning goes on once it is back.
func transient(err error) bool {
	return errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrSessionMoved)
}

// pause waits a moment before trying again, or until ctx ends.
func (s *Session) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(200 * time.Millisecond):
	}
}

// withdraw takes this master's node out of the election.
func (s *Session) withdraw(node string) {
	if node != "" {
		_ = s.conn.Delete(s.cfg.Path+"/election/"+node, -1)
	}
}

// nextEpoch takes the epoch after the last term's and floor, in
// PATH/epoch, by compare-and-set: one more than every earlier term's.
func (s *Session) nextEpoch(floor uint64) (uint64, error) {
	path := s.cfg.Path + "/epoch"
	for {
		data, stat, err := s.conn.Get(path)
		if errors.Is(err, zk.ErrNoNode) {
			next := floor + 1
			_, err := s.conn.Create(path, []byte(strconv.FormatUint(next, 10)), 0, s.acl)
			if errors.Is(err, zk.ErrNodeExists) {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("ZooKeeper: make %s: %w", path, err)
			}
			return next, nil
		}
		if err != nil {
			return 0, fmt.Errorf("ZooKeeper: read %s: %w", path, err)
		}
		last, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("ZooKeeper: %s holds %q, not an epoch", path, data)
		}
		next := max(last, floor) + 1
		_, err = s.conn.Set(path, []byte(strconv.FormatUint(next, 10)), stat.Version)
		if errors.Is(err, zk.ErrBadVersion) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("ZooKeeper: write %s: %w", path, err)
		}
		return next, nil
	}
}
