package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/globalchannel"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/smoke"
	"github.com/pomeloctl/pomeloctl/topology"
)

// smokeCluster is the cluster a smoke run brought up, as its chaos steps
// act on it: the admin API of whichever master leads, the processes
// themselves for SIGKILL (what an operator's kill -9 or a crash does, which
// the admin API's kill, a stop that is not restarted, is not), and the
// managed Redis.
type smokeCluster struct {
	t     *topology.Topology
	tg    *target
	redis *globalchannel.Redis
}

// poll is how often a wait asks the master again.
const poll = 50 * time.Millisecond

func (sc *smokeCluster) client(ctx context.Context) *admin.Client {
	cl, _ := sc.tg.leader(ctx)
	return cl
}

// find resolves a chaos step's target: a server id, or a type's first
// running server.
func (sc *smokeCluster) find(ctx context.Context, target string) (admin.ServerStatus, error) {
	list, err := sc.client(ctx).Servers(ctx)
	if err != nil {
		return admin.ServerStatus{}, err
	}
	for _, s := range list {
		if s.ID == target {
			return s, nil
		}
	}
	for _, s := range list {
		if s.Type == target && s.State == lifecycle.Running.String() && s.Pid > 0 {
			return s, nil
		}
	}
	return admin.ServerStatus{}, fmt.Errorf("no server %s, and no running server of a type %s", target, target)
}

func (sc *smokeCluster) Kill(ctx context.Context, target string) (smoke.Target, error) {
	s, err := sc.find(ctx, target)
	if err != nil {
		return smoke.Target{}, err
	}
	t := smoke.Target{ID: s.ID, Pid: s.Pid}
	if s.Pid <= 0 || s.State != lifecycle.Running.String() {
		return t, fmt.Errorf("%s is %s, with no process to kill", s.ID, s.State)
	}
	if err := syscall.Kill(s.Pid, syscall.SIGKILL); err != nil {
		return t, fmt.Errorf("SIGKILL to %s (pid %d): %w", s.ID, s.Pid, err)
	}
	return t, nil
}

func (sc *smokeCluster) Restart(ctx context.Context, target string) (smoke.Target, error) {
	s, err := sc.find(ctx, target)
	if err != nil {
		return smoke.Target{}, err
	}
	t := smoke.Target{ID: s.ID, Pid: s.Pid}
	if err := sc.client(ctx).Restart(ctx, s.ID); err != nil {
		return t, err
	}
	return t, sc.AwaitRunning(ctx, t)
}

func (sc *smokeCluster) AwaitRunning(ctx context.Context, t smoke.Target) error {
	last := "unknown"
	for {
		list, err := sc.client(ctx).Servers(ctx)
		if err == nil {
			for _, s := range list {
				if s.ID != t.ID {
					continue
				}
				if s.State == lifecycle.Running.String() && s.Pid > 0 && s.Pid != t.Pid {
					return nil
				}
				last = s.State
				if s.Reason != "" {
					last += " (" + s.Reason + ")"
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is %s: %w", t.ID, last, ctx.Err())
		case <-time.After(poll):
		}
	}
}

func (sc *smokeCluster) KillLeader(ctx context.Context) (smoke.Target, error) {
	info, err := sc.client(ctx).Info(ctx)
	if err != nil {
		return smoke.Target{}, err
	}
	t := smoke.Target{ID: info.ID, Pid: info.Pid}
	if err := syscall.Kill(info.Pid, syscall.SIGKILL); err != nil {
		return t, fmt.Errorf("SIGKILL to the leading master %s (pid %d): %w", info.ID, info.Pid, err)
	}
	return t, nil
}

func (sc *smokeCluster) AwaitLeader(ctx context.Context, old smoke.Target) (string, error) {
	for {
		if info, err := sc.client(ctx).Info(ctx); err == nil && info.ID != old.ID && info.Pid != old.Pid {
			for _, m := range info.Masters {
				if m.ID == info.ID && m.Role == "leader" {
					return info.ID, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(poll):
		}
	}
}

// redisClient connects to the global channels' Redis once.
func (sc *smokeCluster) redisClient(ctx context.Context) (*globalchannel.Redis, error) {
	if sc.redis != nil {
		return sc.redis, nil
	}
	if sc.t.GlobalChannel == nil {
		return nil, errors.New("the topology has no global channels")
	}
	cfg, err := globalchannel.ConfigOf(sc.t)
	if err != nil {
		return nil, err
	}
	r, err := globalchannel.DialRedis(ctx, cfg)
	if err != nil {
		return nil, err
	}
	sc.redis = r
	return r, nil
}

func (sc *smokeCluster) ChannelMembers(ctx context.Context) (int, error) {
	r, err := sc.redisClient(ctx)
	if err != nil {
		return 0, err
	}
	return r.CountMembers(ctx)
}

func (sc *smokeCluster) RestartRedis(ctx context.Context) error {
	r, err := sc.redisClient(ctx)
	if err != nil {
		return err
	}
	before, err := r.Instance(ctx)
	if err != nil {
		return err
	}
	if err := r.ShutdownNoSave(ctx); err != nil {
		return err
	}
	// Its supervisor starts it again: a new run of it answers.
	for {
		if id, err := r.Instance(ctx); err == nil && id != before {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no new Redis answered on %s: %w", sc.t.GlobalChannel.Redis, ctx.Err())
		case <-time.After(poll):
		}
	}
}

func (sc *smokeCluster) LogTail(id string) string {
	text, err := master.TailLog(sc.tg.runDir.Log(id), 10)
	if err != nil {
		return ""
	}
	return strings.TrimRight(text, "\n") + "\n"
}

func (sc *smokeCluster) close() {
	if sc.redis != nil {
		_ = sc.redis.Close()
	}
}
