package master

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/proc"
)

// StopOrphans stops the servers a master that is gone left running, from
// the run directory's records: SIGTERM to each one's process group, then
// SIGKILL to any group still there after timeout. It clears the run
// directory and returns how many servers it found running. It refuses
// while the recorded master lives: those servers are not orphans.
func StopOrphans(ctx context.Context, dir RunDir, timeout time.Duration) (int, error) {
	if rec, err := dir.Master(); err == nil && rec.Alive() {
		return 0, fmt.Errorf("the cluster's master (pid %d) still runs, though it does not answer on %s: not stopping its servers behind its back (is --master right?)", rec.Pid, rec.Addr)
	}
	recs, err := dir.Servers()
	if err != nil {
		return 0, err
	}
	var live []ServerRecord
	for _, r := range recs {
		if proc.KillGroup(r.Pid, r.StartTime, syscall.SIGTERM) == nil {
			live = append(live, r)
		}
	}
	deadline := time.Now().Add(timeout)
	for _, r := range live {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		err := proc.WaitGone(wctx, r.Pid, r.StartTime)
		cancel()
		if err != nil {
			_ = proc.KillGroup(r.Pid, r.StartTime, syscall.SIGKILL)
			_ = proc.WaitGone(ctx, r.Pid, r.StartTime)
		}
		proc.KillRest(r.Pid)
	}
	if ctx.Err() != nil {
		return len(live), ctx.Err()
	}
	return len(live), dir.clear()
}
