package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine"
	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/engine/zookeeper"
	"github.com/pomeloctl/pomeloctl/topology"
)

// newZookeeperCmd is what up -d starts for `ha: {zookeeper: managed}`: a
// ZooKeeper on loopback in the run directory, run again when it exits.
func newZookeeperCmd(g *globals) *cobra.Command {
	var (
		profiles []string
		runDir   string
	)
	cmd := &cobra.Command{
		Use:    "zookeeper TOPOLOGY",
		Short:  "Run a cluster's managed ZooKeeper (what up -d starts for ha.zookeeper: managed)",
		Hidden: true,
		Args:   exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			t, err := loadTopology(c, g, args[0], profiles)
			if err != nil {
				return err
			}
			if t.HA == nil || !t.HA.Managed {
				return usageError{c, errors.New("the topology's ha.zookeeper is not managed")}
			}
			dir := master.RunDir(runDir)
			if dir == "" {
				dir = master.DefaultRunDir(t)
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			self := master.ProcessRecord{Pid: os.Getpid(), Addr: t.HA.Zookeeper[0], Path: t.HA.Path, Auth: t.HA.Auth.Value}
			self.StartTime, _ = proc.StartTime(self.Pid)
			if err := dir.WriteZooKeeper(self); err != nil {
				return err
			}
			defer func() { _ = dir.ClearZooKeeper() }()
			return zookeeper.Supervise(ctx, managedZookeeper(t, dir), slog.New(engine.LogHandler(t, c.ErrOrStderr(), slog.LevelInfo)))
		},
	}
	cmd.Flags().StringSliceVarP(&profiles, "profile", "p", nil, "profiles")
	cmd.Flags().StringVar(&runDir, "run-dir", "", "the run directory")
	return cmd
}

// managedZookeeper is the managed ZooKeeper of a topology: its files in
// the run directory, its port the one ha.zookeeper was resolved to.
func managedZookeeper(t *topology.Topology, dir master.RunDir) zookeeper.Server {
	_, port, _ := net.SplitHostPort(t.HA.Zookeeper[0])
	n, _ := strconv.Atoi(port) // resolved by the loader: 127.0.0.1:PORT
	return zookeeper.Server{Dir: filepath.Join(string(dir), "zookeeper"), Port: n}
}

// startManagedZookeeper starts the managed ZooKeeper of t, unless one
// answers already, and waits until it is ready.
func startManagedZookeeper(ctx context.Context, t *topology.Topology, dir master.RunDir, exe string, profiles []string) error {
	addr := t.HA.Zookeeper[0]
	if zookeeper.Ready(addr) {
		return nil
	}
	args := []string{"zookeeper", t.File, "--port-offset", strconv.Itoa(t.PortOffset), "--run-dir", string(dir)}
	for _, p := range profiles {
		args = append(args, "--profile", p)
	}
	p, err := proc.Start(proc.Spec{Path: exe, Args: args, LogFile: dir.Log("zookeeper")})
	if err != nil {
		return fmt.Errorf("start the managed ZooKeeper: %w", err)
	}
	go func() { _, _ = p.Wait() }()
	if err := zookeeper.WaitReady(ctx, addr, 60*time.Second); err != nil {
		text, _ := master.TailLog(dir.Log("zookeeper"), 15)
		return fmt.Errorf("the managed ZooKeeper: %w; the end of its log (%s):\n%s", err, dir.Log("zookeeper"), text)
	}
	return nil
}

// stopManagedZookeeper stops a run directory's managed ZooKeeper, if one
// runs: down does, once the masters are gone.
func stopManagedZookeeper(dir master.RunDir) {
	if dir == "" {
		return
	}
	rec, err := dir.ZooKeeper()
	if err != nil || !rec.Alive() {
		return
	}
	// The standbys leave once elected after the down: ZooKeeper must
	// outlive them, or they would wait for it forever.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ha.WaitElectionEmpty(ctx, []string{rec.Addr}, rec.Path, rec.Auth)
	_ = proc.Signal(rec.Pid, rec.StartTime, syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); rec.Alive() && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
}
