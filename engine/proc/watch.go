package proc

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

func pollGone(ctx context.Context, pid int, startTime uint64) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for Alive(pid, startTime) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Signal sends sig to the process pid alone, if it is still the one that
// started at startTime.
func Signal(pid int, startTime uint64, sig syscall.Signal) error {
	if !Alive(pid, startTime) {
		return ErrGone
	}
	if err := syscall.Kill(pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return ErrGone
		}
		return fmt.Errorf("signal process %d: %w", pid, err)
	}
	return nil
}
