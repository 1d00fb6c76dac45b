package globalchannel

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pomeloctl/pomeloctl/internal/redistest"
)

// roundTrips counts what a client sends Redis: a pipeline is one.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

func dial(t *testing.T, addr, prefix string) *Redis {
	t.Helper()
	r, err := DialRedis(context.Background(), RedisConfig{Addr: addr, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// Members are kept per frontend under Pomelo's keys, read for every
// frontend in one round trip, and leave, destroy, restore, dropping a
// frontend and cleaning act on this prefix's keys only.
func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	r := dial(t, srv.Addr, "lord:globalchannel")
	other := dial(t, srv.Addr, "other*cluster") // a prefix with a glob character in it
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()

	for _, m := range [][3]string{{"room1", "u1", "connector-server-1"}, {"room1", "u2", "connector-server-2"}, {"room1", "u3", "connector-server-2"}, {"room2", "u1", "connector-server-1"}} {
		if err := r.Add(ctx, m[0], m[1], m[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Add(ctx, "room1", "x", "connector-server-1"); err != nil {
		t.Fatal(err)
	}
	if got := raw.SMembers(ctx, "lord:globalchannel:room1:connector-server-2").Val(); !sameSet(got, "u2", "u3") {
		t.Errorf("the plugin's key lord:globalchannel:room1:connector-server-2 holds %v; want u2 and u3", got)
	}

	trips := &roundTrips{}
	r.c.AddHook(trips)
	sids := []string{"connector-server-1", "connector-server-2", "connector-server-3", "connector-server-4"}
	if _, err := r.Members(ctx, "room1", sids); err != nil { // a connection of its own set up first
		t.Fatal(err)
	}
	trips.n.Store(0)
	members, err := r.Members(ctx, "room1", sids)
	if err != nil {
		t.Fatal(err)
	}
	if n := trips.n.Load(); n != 1 {
		t.Errorf("reading a channel on %d frontends took %d round trips; want 1", len(sids), n)
	}
	if len(members) != 2 || !sameSet(members["connector-server-1"], "u1") || !sameSet(members["connector-server-2"], "u2", "u3") {
		t.Errorf("members of room1: %v", members)
	}

	if err := r.Leave(ctx, "room1", "u2", "connector-server-2"); err != nil {
		t.Fatal(err)
	}
	if err := r.LeaveAll(ctx, []string{"room1", "room2"}, "u1", "connector-server-1"); err != nil {
		t.Fatal(err)
	}
	members, _ = r.Members(ctx, "room1", sids)
	if len(members) != 1 || !sameSet(members["connector-server-2"], "u3") {
		t.Errorf("room1 after leaves: %v; want u3 alone", members)
	}

	if err := r.Restore(ctx, "connector-server-3", map[string][]string{"room1": {"a", "b"}, "room3": {"c"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.DropFrontend(ctx, "connector-server-3"); err != nil || n != 2 {
		t.Errorf("dropping connector-server-3: %d keys, %v; want its 2 channels", n, err)
	}
	if err := r.Destroy(ctx, "room1", sids); err != nil {
		t.Fatal(err)
	}
	if members, _ := r.Members(ctx, "room1", sids); len(members) != 0 {
		t.Errorf("room1 after destroy: %v", members)
	}

	if err := r.Add(ctx, "room9", "z", "connector-server-1"); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Clean(ctx); err != nil || n != 1 {
		t.Errorf("clean: %d keys, %v; want room9's one", n, err)
	}
	if got := raw.SMembers(ctx, "other*cluster:room1:connector-server-1").Val(); !sameSet(got, "x") {
		t.Errorf("another prefix's channel after clean: %v; want it untouched", got)
	}
	if n, err := other.Clean(ctx); err != nil || n != 1 {
		t.Errorf("clean of a prefix with a glob character: %d keys, %v; want its own one", n, err)
	}
}

// Bad input is refused before Redis is asked; Redis unreachable at start
// is an error naming it; a Redis that restarted is reached again.
func TestRedisFailures(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r := dial(t, srv.Addr, "")
	for _, c := range []struct{ name, uid, sid, want string }{
		{"", "u1", "connector-server-1", "the channel has no name"},
		{"room1", "", "connector-server-1", "has no uid"},
		{"room1", "u1", "", "has no frontend id"},
	} {
		if err := r.Add(ctx, c.name, c.uid, c.sid); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Add(%q, %q, %q): %v; want %q", c.name, c.uid, c.sid, err, c.want)
		}
	}
	if r.prefix != DefaultPrefix {
		t.Errorf("default prefix %q; want Pomelo's %q", r.prefix, DefaultPrefix)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	start := time.Now()
	if _, err := DialRedis(ctx, RedisConfig{Addr: closed}); err == nil || !strings.Contains(err.Error(), "Redis at "+closed+" (db 0) does not answer") {
		t.Errorf("Redis unreachable at start: %v; want an error naming %s", err, closed)
	} else if time.Since(start) > 10*time.Second {
		t.Errorf("finding Redis unreachable took %s", time.Since(start))
	}

	if err := r.Add(ctx, "room1", "u1", "connector-server-1"); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	var addErr error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if addErr = r.Add(ctx, "room1", "u2", "connector-server-1"); addErr == nil {
			break
		}
	}
	if addErr != nil {
		t.Fatalf("after Redis restarted: %v", addErr)
	}
	if m, _ := r.Members(ctx, "room1", []string{"connector-server-1"}); !sameSet(m["connector-server-1"], "u2") {
		t.Errorf("after an empty restart: %v; want only what was added since", m)
	}
}

func sameSet(got []string, want ...string) bool {
	got = slices.Clone(got)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}
