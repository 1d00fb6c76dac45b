package ha

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/pomeloctl/pomeloctl/internal/faultproxy"
	"github.com/pomeloctl/pomeloctl/internal/zktest"
)

// dial is master id's session with the ensemble at addr (a fault proxy's,
// or the server's own), whose session timeout is timeout.
func dial(t *testing.T, addr, path, id string, timeout time.Duration) *Session {
	t.Helper()
	s, err := Dial(Config{Servers: []string{addr}, Path: path, SessionTimeout: timeout, ID: id, Addr: id + ":3005",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// campaign campaigns in the background and delivers the term.
func campaign(t *testing.T, s *Session, floor uint64) <-chan *Term {
	t.Helper()
	ch := make(chan *Term, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		term, err := s.Campaign(ctx, floor)
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("%s: campaign: %v", s.cfg.ID, err)
			}
			return
		}
		ch <- term
	}()
	return ch
}

func elected(t *testing.T, ch <-chan *Term, within time.Duration) *Term {
	t.Helper()
	select {
	case term := <-ch:
		return term
	case <-time.After(within):
		t.Fatalf("not elected within %s", within)
		return nil
	}
}

func notElected(t *testing.T, ch <-chan *Term, during time.Duration) {
	t.Helper()
	select {
	case term := <-ch:
		t.Fatalf("elected (epoch %d) while another leads", term.Epoch)
	case <-time.After(during):
	}
}

// Masters lead one at a time in the order they entered; each hands over
// to the next when it resigns or its session closes, with a higher epoch
// each time; the base path is made when missing.
func TestOneLeaderAtATimeInOrder(t *testing.T) {
	z := zktest.Start(t)
	const path = "/pomeloctl/test/one-leader"
	m1 := dial(t, z.Addr, path, "master-1", 2*time.Second)
	t1 := elected(t, campaign(t, m1, 7), 5*time.Second)
	if t1.Epoch != 8 {
		t.Errorf("the first term's epoch: %d, want 8 (the floor given, plus one)", t1.Epoch)
	}
	m2 := dial(t, z.Addr, path, "master-2", 2*time.Second)
	c2 := campaign(t, m2, 0)
	m3 := dial(t, z.Addr, path, "master-3", 2*time.Second)
	c3 := campaign(t, m3, 0)
	notElected(t, c2, 300*time.Millisecond)
	all, err := m1.Candidates()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range all {
		ids = append(ids, c.ID)
	}
	if fmt.Sprint(ids) != "[master-1 master-2 master-3]" {
		t.Errorf("candidates in order: %v", ids)
	}

	if err := t1.Resign(); err != nil {
		t.Fatal(err)
	}
	if t1.Valid() {
		t.Error("a resigned term is still valid")
	}
	t2 := elected(t, c2, 2*time.Second)
	notElected(t, c3, 200*time.Millisecond)
	if t2.Epoch != t1.Epoch+1 {
		t.Errorf("epoch after a handover: %d, want %d", t2.Epoch, t1.Epoch+1)
	}
	m2.Close() // a master that stops: its session and node go at once
	t3 := elected(t, c3, 2*time.Second)
	if t3.Epoch != t2.Epoch+1 || !t3.Valid() {
		t.Errorf("the third term: epoch %d valid %v", t3.Epoch, t3.Valid())
	}
}

// The order is by the sequence number as a number: twenty handovers in a
// row, the sequence crossing 9 → 10 and 99 → 100, never two leaders.
func TestTwentyFailoversAcrossSequenceDigits(t *testing.T) {
	z := zktest.Start(t)
	const path = "/pomeloctl/test/digits"
	pad := dial(t, z.Addr, path, "pad", 2*time.Second)
	// The sequence counter of PATH/election counts every child ever made:
	// start the candidates just below 10.
	for range 8 {
		p, err := pad.conn.Create(path+"/election/pad", nil, zk.FlagSequence, pad.acl)
		if err != nil {
			t.Fatal(err)
		}
		if err := pad.conn.Delete(p, -1); err != nil {
			t.Fatal(err)
		}
	}
	var epochs []uint64
	var seqs []int64
	prev := dial(t, z.Addr, path, "master-0", 2*time.Second)
	term := elected(t, campaign(t, prev, 0), 5*time.Second)
	for i := 1; i <= 20; i++ {
		if i == 10 {
			for range 80 { // on to 99 → 100
				p, _ := pad.conn.Create(path+"/election/pad", nil, zk.FlagSequence, pad.acl)
				_ = pad.conn.Delete(p, -1)
			}
		}
		next := dial(t, z.Addr, path, fmt.Sprintf("master-%d", i), 2*time.Second)
		ch := campaign(t, next, 0)
		notElected(t, ch, 50*time.Millisecond)
		all, _ := next.Candidates()
		if len(all) != 2 || all[0].ID != prev.cfg.ID {
			t.Fatalf("handover %d: candidates %+v; want %s first", i, all, prev.cfg.ID)
		}
		seqs = append(seqs, all[0].Seq, all[1].Seq)
		if err := term.Resign(); err != nil {
			t.Fatal(err)
		}
		prev.Close()
		nt := elected(t, ch, 2*time.Second)
		if nt.Epoch <= term.Epoch {
			t.Fatalf("handover %d: epoch %d after %d", i, nt.Epoch, term.Epoch)
		}
		epochs = append(epochs, nt.Epoch)
		term, prev = nt, next
	}
	crossed := func(a, b int64) bool {
		for i := 1; i < len(seqs); i++ {
			if seqs[i-1] <= a && seqs[i] >= b {
				return true
			}
		}
		return false
	}
	if !crossed(9, 10) || !crossed(99, 100) {
		t.Errorf("the sequence numbers %v did not cross 9 → 10 and 99 → 100", seqs)
	}
	t.Logf("epochs %v", epochs)
}

// A leader cut off from ZooKeeper ends its term on its own clock before
// the ensemble expires its session and elects the next: never two
// leaders, even for a moment.
func TestACutOffLeaderStepsDownBeforeAnotherIsElected(t *testing.T) {
	z := zktest.Start(t)
	const path = "/pomeloctl/test/cut-off"
	proxy := faultproxy.Start(t, z.Addr)
	const timeout = 2 * time.Second
	m1 := dial(t, proxy.Addr, path, "master-1", timeout)
	t1 := elected(t, campaign(t, m1, 0), 5*time.Second)
	m2 := dial(t, z.Addr, path, "master-2", timeout)
	c2 := campaign(t, m2, 0)
	notElected(t, c2, 300*time.Millisecond)

	proxy.Cut()
	cut := time.Now()
	var lostAt time.Time
	select {
	case <-t1.Lost():
		lostAt = time.Now()
	case <-time.After(3 * timeout):
		t.Fatal("the cut-off leader's term did not end")
	}
	t2 := elected(t, c2, 3*timeout)
	electedAt := time.Now()
	if !lostAt.Before(electedAt) || t1.Valid() {
		t.Fatalf("the old term ended %s after the cut, the new began %s after it: two leaders", lostAt.Sub(cut), electedAt.Sub(cut))
	}
	if t2.Epoch <= t1.Epoch {
		t.Errorf("epochs %d then %d", t1.Epoch, t2.Epoch)
	}
	if err := t1.Err(); err == nil || !strings.Contains(err.Error(), "not confirmed") && !strings.Contains(err.Error(), "expired") {
		t.Errorf("why the term ended: %v", err)
	}
	t.Logf("cut → old term ended %s; new leader after %s", lostAt.Sub(cut).Round(time.Millisecond), electedAt.Sub(cut).Round(time.Millisecond))
}

// The leader's record is published only when it says so, and standbys
// see each change: none, then the leader with its epoch, then none again
// when it resigns, then the next.
func TestPublishedLeaderIsWatched(t *testing.T) {
	z := zktest.Start(t)
	const path = "/pomeloctl/test/publish"
	watcher := dial(t, z.Addr, path, "watcher", 2*time.Second)
	var mu sync.Mutex
	var seen []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go watcher.WatchLeader(ctx, func(l Leader, ok bool) {
		mu.Lock()
		defer mu.Unlock()
		if ok {
			seen = append(seen, fmt.Sprintf("%s@%s#%d", l.ID, l.Addr, l.Epoch))
		} else {
			seen = append(seen, "none")
		}
	})
	waitSeen := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			got := strings.Join(seen, " ")
			mu.Unlock()
			if strings.HasSuffix(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the watcher saw %q; want it to end with %q", got, want)
			}
		}
	}
	waitSeen("none")
	m1 := dial(t, z.Addr, path, "master-1", 2*time.Second)
	t1 := elected(t, campaign(t, m1, 0), 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	waitSeen("none") // elected, not yet published: it has not adopted the cluster
	if err := t1.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	waitSeen(fmt.Sprintf("master-1@master-1:3005#%d", t1.Epoch))
	m2 := dial(t, z.Addr, path, "master-2", 2*time.Second)
	c2 := campaign(t, m2, 0)
	if err := t1.Resign(); err != nil {
		t.Fatal(err)
	}
	t2 := elected(t, c2, 2*time.Second)
	if err := t2.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	waitSeen(fmt.Sprintf("none master-2@master-2:3005#%d", t2.Epoch))
	if l, ok, err := watcher.Leader(); err != nil || !ok || l.ID != "master-2" {
		t.Errorf("Leader() = %+v %v %v", l, ok, err)
	}
}

// With digest auth, the nodes are the user's alone: another client
// cannot read who leads.
func TestDigestAuth(t *testing.T) {
	z := zktest.Start(t)
	const path = "/pomeloctl/test/auth"
	s, err := Dial(Config{Servers: []string{z.Addr}, Path: path, SessionTimeout: 2 * time.Second, Auth: "pomelo:s3cret", ID: "master-1", Addr: "127.0.0.1:3005",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	term := elected(t, campaign(t, s, 0), 5*time.Second)
	if err := term.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := dial(t, z.Addr, "/other", "other", 2*time.Second)
	if _, _, err := other.conn.Get(path + "/leader"); err == nil || !strings.Contains(err.Error(), "not authenticated") {
		t.Errorf("an unauthenticated read of the leader: %v; want it refused", err)
	}
}

// ZooKeeper restarted within the session timeout keeps the session, and
// with it the leader: its term holds throughout, and no other master is
// elected.
func TestZooKeeperRestartKeepsTheLeader(t *testing.T) {
	z := zktest.Start(t)
	const path = "/pomeloctl/test/restart"
	const timeout = 6 * time.Second
	m1 := dial(t, z.Addr, path, "master-1", timeout)
	t1 := elected(t, campaign(t, m1, 0), 5*time.Second)
	m2 := dial(t, z.Addr, path, "master-2", timeout)
	c2 := campaign(t, m2, 0)
	notElected(t, c2, 200*time.Millisecond)
	z.Restart()
	notElected(t, c2, timeout)
	if !t1.Valid() {
		t.Fatalf("the leader's term ended across a ZooKeeper restart: %v", t1.Err())
	}
}

// A term is valid only while its lease holds: a leader frozen past it
// (SIGSTOP) finds it invalid the moment it runs again, before any timer.
func TestValidFollowsTheLease(t *testing.T) {
	term := &Term{lost: make(chan struct{}), stop: make(chan struct{})}
	term.until = time.Now().Add(time.Hour)
	if !term.Valid() {
		t.Fatal("a term within its lease is not valid")
	}
	term.until = time.Now().Add(-time.Millisecond)
	if term.Valid() {
		t.Error("a term past its lease is valid")
	}
}

// The cluster's shared state: written by the leader, created on the first
// write and replaced on the next, read by any master, refused to a master
// whose term has ended (its successor's stays), and cleared for a fresh
// start.
func TestSharedStateIsTheLeaders(t *testing.T) {
	z := zktest.Start(t)
	const path = "/pomeloctl/test/shared"
	a, b := dial(t, z.Addr, path, "master-1", 2*time.Second), dial(t, z.Addr, path, "master-2", 2*time.Second)
	if _, ok, err := b.Shared("tokens.json"); ok || err != nil {
		t.Fatalf("state before any write: %v, %v; want none", ok, err)
	}
	first := elected(t, campaign(t, a, 0), 5*time.Second)
	for _, data := range []string{`{"chat":"1"}`, `{"chat":"2"}`} {
		if err := first.Share("tokens.json", []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := b.Shared("tokens.json"); !ok || err != nil || string(got) != data {
			t.Fatalf("read back %q, %v, %v; want %s", got, ok, err, data)
		}
	}
	next := campaign(t, b, first.Epoch)
	if err := first.Resign(); err != nil {
		t.Fatal(err)
	}
	second := elected(t, next, 5*time.Second)
	if err := second.Share("tokens.json", []byte(`{"chat":"3"}`)); err != nil {
		t.Fatal(err)
	}
	if err := first.Share("tokens.json", []byte(`{"chat":"stale"}`)); err == nil {
		t.Error("a master whose term ended shared state")
	}
	if got, _, _ := a.Shared("tokens.json"); string(got) != `{"chat":"3"}` {
		t.Errorf("after a stale write: %s; want the leader's", got)
	}
	if err := b.ClearShared(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Shared("tokens.json"); ok || err != nil {
		t.Errorf("after ClearShared: %v, %v; want none", ok, err)
	}
}
