package main

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/internal/redistest"
)

// The master keeps the global channels free of members nobody holds: a
// cluster that starts afresh removes what an earlier run left, and the
// members of a frontend that is killed with -9, or stopped, are taken out
// of every channel; the other frontends' stay.
func TestMasterCleansGlobalChannels(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	raw := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer raw.Close()
	top := strings.Replace(chatTopology(t), "servers:\n", "globalChannel: {redis: "+rs.Addr+", prefix: \"e2e\"}\nservers:\n", 1)
	c := newTestCluster(t, top)
	raw.SAdd(ctx, "e2e:room:connector-server-9", "ghost")
	raw.SAdd(ctx, "another:room:connector-server-1", "not-ours")
	c.must("up", c.file, "-d")
	defer c.must("down")
	if n := raw.Exists(ctx, "e2e:room:connector-server-9").Val(); n != 0 {
		t.Error("a channel an earlier run left is still there after up")
	}

	raw.SAdd(ctx, "e2e:room:connector-server-1", "u1")
	raw.SAdd(ctx, "e2e:lobby:connector-server-1", "u2")
	raw.SAdd(ctx, "e2e:room:connector-server-2", "u3")
	raw.SAdd(ctx, "e2e:room:connector-server-3", "u4")
	killed := c.ls()["connector-server-1"]
	if err := proc.Signal(killed.Pid, mustStart(killed.Pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitWithin(t, 10*time.Second, "connector-server-1's members to be taken out", func() bool {
		return raw.Exists(ctx, "e2e:room:connector-server-1", "e2e:lobby:connector-server-1").Val() == 0
	})
	c.must("stop", "connector-server-2")
	waitWithin(t, 10*time.Second, "connector-server-2's members to be taken out", func() bool {
		return raw.Exists(ctx, "e2e:room:connector-server-2").Val() == 0
	})
	if got := raw.SMembers(ctx, "e2e:room:connector-server-3").Val(); len(got) != 1 || got[0] != "u4" {
		t.Errorf("the members of a frontend that runs on: %v; want u4 kept", got)
	}
	if got := raw.SMembers(ctx, "another:room:connector-server-1").Val(); len(got) != 1 {
		t.Errorf("another cluster's channel: %v; want it untouched", got)
	}
	if log := c.must("logs", "master", "-n", "200"); !strings.Contains(log, "global channels: took the members of a frontend that ended out of its channels") {
		t.Errorf("the master's log does not say it took the members out:\n%s", log)
	}
}

// With globalChannel.redis: managed, up runs a Redis in the run directory
// before the master (the servers reach it as they start), runs it again
// when it dies, and down stops it last.
func TestManagedRedis(t *testing.T) {
	top := strings.Replace(chatTopology(t), "servers:\n", "globalChannel: {redis: managed}\nservers:\n", 1)
	c := newTestCluster(t, top)
	t.Cleanup(func() { killMentioning(c.dir) })
	c.must("up", c.file, "-d")
	addr := c.port(6479)
	rec, err := c.runDir().Helper("redis")
	if err != nil || !rec.Alive() || rec.Addr != addr {
		t.Fatalf("the managed Redis's record: %+v %v; want a live one on %s", rec, err, addr)
	}
	raw := redis.NewClient(&redis.Options{Addr: addr})
	defer raw.Close()
	if err := raw.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	// The redis-server killed: the supervisor runs it again.
	for _, pid := range mentioning("redis-server " + addr) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	waitWithin(t, 10*time.Second, "Redis to run again", func() bool { return raw.Ping(context.Background()).Err() == nil })
	if log, err := os.ReadFile(c.runDir().Log("redis")); err != nil || !strings.Contains(string(log), "Redis exited; starting it again") {
		t.Errorf("the Redis supervisor's log does not say it ran Redis again: %v\n%s", err, log)
	}
	c.must("down")
	waitWithin(t, 10*time.Second, "the managed Redis to stop", func() bool { return raw.Ping(context.Background()).Err() != nil })
	if _, err := c.runDir().Helper("redis"); err == nil {
		t.Error("the managed Redis is still recorded after down")
	}
}
