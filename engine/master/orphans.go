package master

import (
	"context"
	"syscall"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/proc"
)

// StopOrphans stops the servers a master that is gone left running, from
// the run directory's records: SIGTERM to each, then SIGKILL to the
// process group of any still there after timeout. It clears the run
// directory and returns how many servers it found running.
func StopOrphans(ctx context.Context, dir RunDir, timeout time.Duration) (int, error) {
	recs, err := dir.Servers()
	if err != nil {
		return 0, err
	}
	var live []ServerRecord
	for _, r := range recs {
		if proc.Signal(r.Pid, r.StartTime, syscall.SIGTERM) == nil {
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
	}
	if ctx.Err() != nil {
		return len(live), ctx.Err()
	}
	return len(live), dir.clear()
}
