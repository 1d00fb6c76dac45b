package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine"
	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/topology"
	"github.com/pomeloctl/pomeloctl/tui"
)

// wantsTUI reports whether up in the foreground opens the terminal UI:
// on a terminal, unless --no-tui or in CI.
func wantsTUI(c *cobra.Command, o upOptions) bool {
	return !o.detach && !o.noTUI && os.Getenv("CI") == "" && isTerminal(c.OutOrStdout())
}

// upTUI runs the master in this process, as up in the foreground does,
// and shows the cluster in the terminal UI, which talks to it through
// its admin API like any other client. Quitting the UI (after it asks)
// brings the cluster down.
func upTUI(c *cobra.Command, t *topology.Topology, dir master.RunDir, o upOptions) error {
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logFile, err := openMasterLog(dir)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cfg := master.Config{Topology: t, RunDir: dir, Machine: o.machine, Logger: slog.New(engine.LogHandler(t, logFile, slog.LevelDebug))}
	stopHelpersLast, err := startHelpers(ctx, t, dir, o.profiles)
	if err != nil {
		return err
	}
	defer stopHelpersLast()
	done := make(chan error, 1)
	m, stopCluster, err := startMaster(ctx, t, cfg, done)
	if err != nil {
		return err
	}
	defer stopCluster()
	if t.HA != nil {
		go func() {
			select {
			case <-m.Ready():
				_ = startStandbys(discard(c), t, dir, o)
			case <-ctx.Done():
			}
		}()
	}
	user, password := actingUser(t)
	readOnly := false
	if user == "" && len(t.Master.Users) > 0 {
		// Only readers declared: the UI watches.
		user, password, readOnly = t.Master.Users[0].Username, t.Master.Users[0].Password.Value, true
	}
	addr := master.DialAddr(m.Addr())
	connect := func(ctx context.Context) (tui.Client, string, error) {
		cl := admin.NewClient(addr, user, password)
		if _, err := cl.Info(ctx); err != nil {
			return nil, addr, err
		}
		return cl, addr, nil
	}
	uiErr := tui.Run(ctx, tui.Config{Connect: connect, ReadOnly: readOnly, Color: true,
		QuitAsks: "quit and bring the cluster down (every server stops)?"}, c.InOrStdin(), c.OutOrStdout())
	c.Println("stopping the cluster…")
	stopCluster()
	if err := <-done; err != nil {
		return err
	}
	c.Println("cluster stopped")
	return uiErr
}

// discard is c with its output thrown away: what startStandbys prints
// would tear the screen the UI draws.
func discard(c *cobra.Command) *cobra.Command {
	d := &cobra.Command{}
	d.SetOut(nopWriter{})
	d.SetErr(nopWriter{})
	return d
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// openMasterLog opens the master's log in the run directory, to append
// to.
func openMasterLog(dir master.RunDir) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(dir.Log("master")), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dir.Log("master"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the master's log: %w", err)
	}
	return f, nil
}
