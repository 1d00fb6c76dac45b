package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// Cluster is the running cluster as a rollout acts on it: the admin API's
// client.
type Cluster interface {
	Servers(ctx context.Context) ([]admin.ServerStatus, error)
	Drain(ctx context.Context, ids ...string) error
	Undrain(ctx context.Context, ids ...string) error
	Apply(ctx context.Context, req admin.ApplyRequest) error
	Revert(ctx context.Context, ids ...string) error
	Restart(ctx context.Context, id string) error
	KickPlayers(ctx context.Context, reason string, ids ...string) error
}

// KickReason is what players still on a drained frontend at its deadline
// are told: their client can log in again at once, through the gate.
const KickReason = "the server is being updated: please reconnect"

// kickGrace is how long kicked players have to go before their frontend
// restarts anyway.
const kickGrace = 5 * time.Second

// Options shape a rollout.
type Options struct {
	// Drain is how long a group's frontends may keep players before the
	// rest are kicked.
	Drain time.Duration
	// Between is how long a group is back in rotation before the next
	// drains: load balancers check readiness every so often, and until
	// they have seen the group ready, the next group's drain could leave
	// them no frontend to send players to.
	Between time.Duration
	// Stable is how long the group's replaced servers must keep running,
	// in the same process, before it counts as healthy: a build that
	// crashes a second after it registers is caught here.
	Stable time.Duration
	// Topology is what the replaced servers take (its File and Source).
	Topology admin.ApplyRequest
	// Check is the group's health check once its servers run again (the
	// topology's smoke scenarios); nil for none.
	Check func(ctx context.Context, g Group) error
	// Progress gets a line for each step; nil for none.
	Progress func(format string, args ...any)
	// Saved is called with the report after each step (the run
	// directory's rollout.json); nil for none.
	Saved func(*Report)
	// Done are the groups a resumed rollout finished before.
	Done []GroupResult
}

// poll is how often a drain looks at its frontends' players.
const poll = 250 * time.Millisecond

// Run rolls the groups out in order. It stops at the first group that does
// not come up healthy, after putting it back on what it ran.
func Run(ctx context.Context, c Cluster, groups []Group, opts Options) *Report {
	r := &Report{Started: time.Now(), Groups: append([]GroupResult(nil), opts.Done...), State: StateRunning}
	say := func(format string, args ...any) {
		if opts.Progress != nil {
			opts.Progress(format, args...)
		}
	}
	save := func() {
		r.Updated = time.Now()
		if opts.Saved != nil {
			opts.Saved(r)
		}
	}
	done := map[string]bool{}
	for _, g := range opts.Done {
		if g.Outcome == OutcomeReplaced {
			done[g.Group] = true
		}
	}
	first := true
	for _, g := range groups {
		if done[g.Name] {
			say("group %s: replaced before", g.Name)
			continue
		}
		if !first && opts.Between > 0 {
			say("waiting %s for load balancers to see the last group ready", opts.Between)
			select {
			case <-time.After(opts.Between):
			case <-ctx.Done():
			}
		}
		first = false
		r.Current = g.Name
		save()
		res := runGroup(ctx, c, g, opts, say, func(step string) { r.Step = step; save() })
		r.Groups = append(r.Groups, res)
		r.Current, r.Step = "", ""
		if res.Outcome != OutcomeReplaced {
			r.State, r.Error = StateFailed, fmt.Sprintf("group %s: %s", g.Name, res.Error)
			if res.Outcome == OutcomeRolledBack {
				r.State = StateRolledBack
			}
			break
		}
	}
	if r.State == StateRunning {
		r.State = StateDone
	}
	r.Seconds = time.Since(r.Started).Seconds()
	save()
	return r
}

// runGroup drains, replaces, checks and undrains one group.
func runGroup(ctx context.Context, c Cluster, g Group, opts Options, say func(string, ...any), step func(string)) GroupResult {
	start := time.Now()
	res := GroupResult{Group: g.Name, Servers: g.IDs()}
	fail := func(outcome, msg string) GroupResult {
		res.Outcome, res.Error, res.Seconds = outcome, msg, time.Since(start).Seconds()
		return res
	}
	fronts := g.Frontends()
	// Undrained whatever happens: a group left out of rotation would
	// carry no players until an operator noticed.
	defer func() {
		if len(fronts) > 0 {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := c.Undrain(uctx, fronts...); err != nil {
				say("group %s: could not undrain %v: %v (pomeloctl undrain puts them back)", g.Name, fronts, err)
			}
		}
	}()
	if len(fronts) > 0 {
		step("drain")
		say("group %s: draining %v (up to %s)", g.Name, fronts, opts.Drain)
		if err := c.Drain(ctx, fronts...); err != nil {
			return fail(OutcomeFailed, "drain: "+err.Error())
		}
		left, err := waitEmpty(ctx, c, fronts, opts.Drain)
		res.DrainSeconds = time.Since(start).Seconds()
		if err != nil {
			return fail(OutcomeFailed, "drain: "+err.Error())
		}
		res.Kicked = left
		if left > 0 {
			// Kicked by a frontend that serves on, not by its stop, which
			// would refuse what they send meanwhile with an error.
			say("group %s: %d players still on it after %s: kicking them (%q)", g.Name, left, opts.Drain, KickReason)
			if err := c.KickPlayers(ctx, KickReason, fronts...); err != nil {
				say("group %s: kick: %v; their frontends' restart kicks them", g.Name, err)
			} else if _, err := waitEmpty(ctx, c, fronts, kickGrace); err != nil {
				return fail(OutcomeFailed, "drain: "+err.Error())
			}
		}
	}
	step("replace")
	apply := opts.Topology
	apply.IDs = g.IDs()
	if err := c.Apply(ctx, apply); err != nil {
		return fail(OutcomeFailed, "apply the new topology: "+err.Error())
	}
	var touched []string // restarted, or tried: what going back restarts
	pids := map[string]int{}
	var cause error
	for _, s := range g.Servers {
		say("group %s: restarting %s", g.Name, s.ID)
		touched = append(touched, s.ID)
		if err := c.Restart(ctx, s.ID); err != nil {
			cause = fmt.Errorf("%s did not come back: %w", s.ID, err)
			break
		}
		st, err := healthy(ctx, c, s)
		if err != nil {
			cause = err
			break
		}
		pids[s.ID] = st.Pid
	}
	if cause == nil && opts.Stable > 0 {
		step("stable")
		cause = stayedUp(ctx, c, g, pids, opts.Stable)
	}
	if cause == nil && opts.Check != nil {
		touched = g.IDs()
		step("check")
		say("group %s: checking", g.Name)
		if err := opts.Check(ctx, g); err != nil {
			cause = fmt.Errorf("the check failed: %w", err)
		}
	}
	if cause == nil {
		res.Outcome, res.Seconds = OutcomeReplaced, time.Since(start).Seconds()
		say("group %s: replaced in %.1fs", g.Name, res.Seconds)
		return res
	}
	if ctx.Err() != nil {
		return fail(OutcomeFailed, "stopped: "+cause.Error())
	}
	step("roll back")
	say("group %s: %v; putting it back on what it ran", g.Name, cause)
	if err := rollBack(ctx, c, g, touched); err != nil {
		return fail(OutcomeFailed, fmt.Sprintf("%v; and going back failed too: %v", cause, err))
	}
	return fail(OutcomeRolledBack, cause.Error())
}

// rollBack makes every server of g start from what it ran before the
// apply, and restarts those the rollout restarted (touched): the others
// still run it.
func rollBack(ctx context.Context, c Cluster, g Group, touched []string) error {
	if err := c.Revert(ctx, g.IDs()...); err != nil {
		return err
	}
	var errs []error
	for _, id := range touched {
		if err := c.Restart(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// healthy checks that s runs what it must now, and says how it is.
func healthy(ctx context.Context, c Cluster, s Server) (admin.ServerStatus, error) {
	list, err := c.Servers(ctx)
	if err != nil {
		return admin.ServerStatus{}, err
	}
	for _, st := range list {
		if st.ID != s.ID {
			continue
		}
		switch {
		case st.State != "running":
			return st, fmt.Errorf("%s is %s after its restart: %s", s.ID, st.State, st.Reason)
		case s.Program != "" && st.Program != s.Program:
			return st, fmt.Errorf("%s runs %s after its restart, not %s", s.ID, st.Program, s.Program)
		case s.Config != "" && st.Config != s.Config:
			return st, fmt.Errorf("%s runs configuration %s after its restart, not %s", s.ID, st.Config, s.Config)
		}
		return st, nil
	}
	return admin.ServerStatus{}, fmt.Errorf("%s is not in the cluster any more", s.ID)
}

// stayedUp waits d, then checks that every server of g still runs in the
// process it was restarted into (pids).
func stayedUp(ctx context.Context, c Cluster, g Group, pids map[string]int, d time.Duration) error {
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, s := range g.Servers {
		st, err := healthy(ctx, c, s)
		switch {
		case err != nil:
			return fmt.Errorf("did not stay up for %s: %w", d, err)
		case st.Pid != pids[s.ID]:
			return fmt.Errorf("%s did not stay up for %s: it runs in another process (pid %d, not %d): it crashed and was restarted", s.ID, d, st.Pid, pids[s.ID])
		}
	}
	return nil
}

// waitEmpty waits until the frontends ids have no players, or for at most
// d, and says how many are left.
func waitEmpty(ctx context.Context, c Cluster, ids []string, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for {
		list, err := c.Servers(ctx)
		if err != nil {
			return 0, err
		}
		left := 0
		for _, s := range list {
			for _, id := range ids {
				if s.ID == id {
					left += s.Connections
				}
			}
		}
		if left == 0 || !time.Now().Before(deadline) {
			return left, nil
		}
		select {
		case <-ctx.Done():
			return left, ctx.Err()
		case <-time.After(min(poll, time.Until(deadline))):
		}
	}
}
