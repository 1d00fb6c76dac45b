package proc

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// WaitGone waits until the process pid that started at startTime has
// exited, for a process this one did not start (an adopted server), whose
// exit status only its parent can learn. It returns nil once the process
// is gone, or ctx's error. It watches a pidfd where the kernel has them
// (5.3 and later) and otherwise polls /proc.
func WaitGone(ctx context.Context, pid int, startTime uint64) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return pollGone(ctx, pid, startTime)
	}
	defer unix.Close(fd)
	// The pid might have been reused between the caller's look and the
	// pidfd: the descriptor names whatever holds the pid now.
	if !Alive(pid, startTime) {
		return nil
	}
	// A pipe whose write end closes when ctx ends wakes the poll.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return pollGone(ctx, pid, startTime)
	}
	defer unix.Close(p[0])
	stop := context.AfterFunc(ctx, func() { unix.Close(p[1]) })
	defer func() {
		if stop() {
			unix.Close(p[1])
		}
	}()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(p[0]), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("watch process %d: %w", pid, err)
		case fds[0].Revents != 0:
			return nil
		case fds[1].Revents != 0:
			return ctx.Err()
		}
	}
}
