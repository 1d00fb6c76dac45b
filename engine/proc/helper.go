package proc

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"syscall"
	"time"
)

// Helper is a process a cluster runs beside its servers for development:
// a managed ZooKeeper or Redis.
type Helper struct {
	Name string // as logs and errors name it: "ZooKeeper", "Redis"
	Addr string
	Log  string // where it writes its own log, for the messages
	// Command makes the process, in a process group of its own.
	Command func() (*exec.Cmd, error)
	// WaitReady waits until it serves at Addr, or fails.
	WaitReady func(ctx context.Context) error
}

// Supervise runs h until ctx ends, and runs it again with a capped
// back-off each time it exits, as the master does a server. The first
// start must become ready, or Supervise fails.
func Supervise(ctx context.Context, h Helper, log *slog.Logger) error {
	backoff := 100 * time.Millisecond
	for first := true; ; first = false {
		cmd, err := h.Command()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", h.Name, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		started := time.Now()
		if first {
			if err := h.WaitReady(ctx); err != nil {
				stopGroup(cmd, exited)
				return err
			}
			log.Info(h.Name+" ready", "addr", h.Addr, "pid", cmd.Process.Pid)
		}
		select {
		case <-ctx.Done():
			stopGroup(cmd, exited)
			log.Info(h.Name+" stopped", "addr", h.Addr)
			return nil
		case err := <-exited:
			if time.Since(started) > time.Minute {
				backoff = 100 * time.Millisecond
			}
			log.Warn(h.Name+" exited; starting it again", "err", err, "in", backoff, "log", h.Log)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// stopGroup ends a helper's process group: SIGTERM, then SIGKILL.
func stopGroup(cmd *exec.Cmd, exited <-chan error) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}
