//go:build !linux

package proc

import "context"

// WaitGone waits until the process pid that started at startTime has
// exited; without pidfds it polls.
func WaitGone(ctx context.Context, pid int, startTime uint64) error {
	return pollGone(ctx, pid, startTime)
}
