package smoke

import (
	"context"
	"fmt"
	"time"

	"github.com/pomeloctl/pomeloctl/topology"
)

// Cluster is what chaos steps act on and failures are explained with: the
// running cluster, as the caller reaches it (pomeloctl smoke: the admin
// API, the processes, the run directory).
type Cluster interface {
	// Kill sends SIGKILL to a server: target is an id, or a type (its
	// first running server).
	Kill(ctx context.Context, target string) (Target, error)
	// Restart stops a server gracefully and starts it again, and returns
	// once it runs again.
	Restart(ctx context.Context, target string) (Target, error)
	// AwaitRunning returns once the server runs again in a process other
	// than t's.
	AwaitRunning(ctx context.Context, t Target) error
	// KillLeader sends SIGKILL to the leading master.
	KillLeader(ctx context.Context) (Target, error)
	// AwaitLeader returns the id of the master leading once it is not t.
	AwaitLeader(ctx context.Context, t Target) (string, error)
	// ChannelMembers counts the members of every global channel in Redis.
	ChannelMembers(ctx context.Context) (int, error)
	// RestartRedis stops the managed Redis and starts it again, empty.
	RestartRedis(ctx context.Context) error
	// LogTail is the end of a server's log ("" when there is none).
	LogTail(id string) string
}

// Target is a process a chaos step acted on.
type Target struct {
	ID  string
	Pid int
}

// settle is how long a scenario plays on once the cluster is whole again,
// so that what fails after recovery counts too.
const settle = time.Second

// warmup bounds the wait for a chaos step's scenario to have every bot in
// before the step acts.
const warmup = 30 * time.Second

// chaos runs one chaos step, with its scenario playing throughout.
func (p *player) chaos(ctx context.Context, step topology.ChaosStep) ChaosResult {
	start := time.Now()
	res := ChaosResult{Name: step.Title(), Action: step.Action(), During: step.During, MaxFailed: -1}
	switch {
	case step.MaxFailed != nil:
		res.MaxFailed = *step.MaxFailed
	case step.Kill == "":
		res.MaxFailed = 0
	}
	var play *chaosPlay
	var played chan ScenarioResult
	if step.During != "" {
		play = &chaosPlay{stop: make(chan struct{}), ready: make(chan struct{})}
		played = make(chan ScenarioResult, 1)
		go func() { played <- p.scenario(ctx, p.scenarios[step.During], play) }()
		select {
		case <-play.ready:
		case <-time.After(warmup):
		case <-ctx.Done():
		}
		// Acting with the bots in the middle of their loops, not
		// between their login and their first pass.
		sleep(ctx, settle/2)
	}
	recovered, target, err := p.act(ctx, step)
	res.Server = target
	if err == nil {
		res.RecoveredSeconds = recovered.Seconds()
	} else {
		res.Error = err.Error()
		if target != "" {
			res.Log = p.cluster.LogTail(target)
		}
	}
	if play != nil {
		sleep(ctx, settle)
		close(play.stop)
		sc := <-played
		res.Counts, res.Failures = &sc.Counts, sc.Failures
	}
	res.Seconds = time.Since(start).Seconds()
	res.Passed = err == nil && ctx.Err() == nil
	if res.Counts != nil && res.MaxFailed >= 0 && res.Counts.Failed > int64(res.MaxFailed) {
		res.Passed = false
		if res.Error == "" {
			res.Error = fmt.Sprintf("%d of the %d requests of %s failed; the step allows %d", res.Counts.Failed, res.Counts.Requests, step.During, res.MaxFailed)
		}
	}
	return res
}

// act does the step's harm and waits for the cluster to come through,
// saying how long that took and which server it acted on.
func (p *player) act(ctx context.Context, step topology.ChaosStep) (time.Duration, string, error) {
	within := step.Within.D()
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	late := func(err error, what string) error {
		if wctx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("%s within %s", what, within)
		}
		return err
	}
	switch {
	case step.Kill != "":
		t, err := p.cluster.Kill(ctx, step.Kill)
		if err != nil {
			return 0, t.ID, fmt.Errorf("kill %s: %w", step.Kill, err)
		}
		start := time.Now()
		if err := p.cluster.AwaitRunning(wctx, t); err != nil {
			return 0, t.ID, late(err, fmt.Sprintf("%s (killed with SIGKILL) was not running again", t.ID))
		}
		return time.Since(start), t.ID, nil
	case step.Stop != "":
		start := time.Now()
		t, err := p.cluster.Restart(wctx, step.Stop)
		if err != nil {
			return 0, t.ID, late(fmt.Errorf("restart %s: %w", step.Stop, err), fmt.Sprintf("%s (stopped gracefully) was not running again", step.Stop))
		}
		return time.Since(start), t.ID, nil
	case step.KillLeader:
		t, err := p.cluster.KillLeader(ctx)
		if err != nil {
			return 0, t.ID, fmt.Errorf("kill the leader: %w", err)
		}
		start := time.Now()
		if _, err := p.cluster.AwaitLeader(wctx, t); err != nil {
			return 0, t.ID, late(err, fmt.Sprintf("no master took over from %s", t.ID))
		}
		return time.Since(start), t.ID, nil
	case step.RestartRedis:
		before, err := p.cluster.ChannelMembers(ctx)
		if err != nil {
			return 0, "", fmt.Errorf("count the global channels' members: %w", err)
		}
		start := time.Now()
		if err := p.cluster.RestartRedis(wctx); err != nil {
			return 0, "", late(fmt.Errorf("restart Redis: %w", err), "Redis was not back")
		}
		for {
			n, err := p.cluster.ChannelMembers(wctx)
			if err == nil && n >= before {
				return time.Since(start), "", nil
			}
			select {
			case <-wctx.Done():
				return 0, "", late(wctx.Err(), fmt.Sprintf("the global channels had %d members before Redis restarted, and %d were not back", before, before-n))
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return 0, "", fmt.Errorf("a chaos step that does nothing")
}
