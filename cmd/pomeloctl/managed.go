package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine"
	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/engine/redisserver"
	"github.com/pomeloctl/pomeloctl/engine/zookeeper"
	"github.com/pomeloctl/pomeloctl/topology"
)

// helperKind is a process up runs beside the masters for development,
// when the topology says "managed": a ZooKeeper for master HA, a Redis for
// global channels; and the web server of a topology's web section (web.go).
// Each runs under a supervisor process of its own (a hidden command),
// which runs it again when it exits, as the master does a server, and is
// recorded in the run directory (NAME.json).
type helperKind struct {
	name  string // the hidden command, its log and its record
	title string
	// addr is where the topology's managed one listens; "" when the
	// topology manages none.
	addr   func(t *topology.Topology) string
	helper func(t *topology.Topology, dir master.RunDir) proc.Helper
	ready  func(addr string) bool
	// record adds what stopping it needs to its record.
	record func(t *topology.Topology, r *master.ProcessRecord)
	// beforeStop waits for what must go first.
	beforeStop func(r master.ProcessRecord)
}

// helperKinds are the helpers, in the order up starts them (down stops
// them the other way round: the web server, which nothing needs, then
// Redis, whose clients are the servers, then ZooKeeper, which the masters
// need until they have left).
func helperKinds() []helperKind {
	return []helperKind{
		{
			name: "zookeeper", title: "ZooKeeper",
			addr: func(t *topology.Topology) string {
				if t.HA == nil || !t.HA.Managed {
					return ""
				}
				return t.HA.Zookeeper[0]
			},
			helper: func(t *topology.Topology, dir master.RunDir) proc.Helper {
				s := zookeeper.Server{Dir: filepath.Join(string(dir), "zookeeper"), Port: portOf(t.HA.Zookeeper[0])}
				return proc.Helper{Name: "ZooKeeper", Addr: s.Addr(), Log: s.Log(), Command: s.Command,
					WaitReady: func(ctx context.Context) error { return zookeeper.WaitReady(ctx, s.Addr(), 30*time.Second) }}
			},
			ready: zookeeper.Ready,
			record: func(t *topology.Topology, r *master.ProcessRecord) {
				r.Path, r.Auth = t.HA.Path, t.HA.Auth.Value
			},
			beforeStop: func(r master.ProcessRecord) {
				// The standbys leave once elected after the down: ZooKeeper
				// must outlive them, or they would wait for it forever.
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				ha.WaitElectionEmpty(ctx, []string{r.Addr}, r.Path, r.Auth)
			},
		},
		{
			name: "redis", title: "Redis",
			addr: func(t *topology.Topology) string {
				if t.GlobalChannel == nil || !t.GlobalChannel.Managed {
					return ""
				}
				return t.GlobalChannel.Redis
			},
			helper: func(t *topology.Topology, dir master.RunDir) proc.Helper {
				s := redisserver.Server{Dir: filepath.Join(string(dir), "redis"), Port: portOf(t.GlobalChannel.Redis), Password: t.GlobalChannel.Password.Value}
				command := func() (*exec.Cmd, error) {
					cmd, err := s.Command()
					if err == nil {
						// Its log into the supervisor's (NAME.log).
						cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
					}
					return cmd, err
				}
				return proc.Helper{Name: "Redis", Addr: s.Addr(), Log: dir.Log("redis"), Command: command,
					WaitReady: func(ctx context.Context) error {
						ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
						defer cancel()
						return redisserver.WaitReady(ctx, s.Addr())
					}}
			},
			ready:      redisserver.Ready,
			record:     func(*topology.Topology, *master.ProcessRecord) {},
			beforeStop: func(master.ProcessRecord) {},
		},
		{
			name: "web", title: "web server",
			addr:       webAddr,
			helper:     webHelper,
			ready:      webReady,
			record:     func(*topology.Topology, *master.ProcessRecord) {},
			beforeStop: func(master.ProcessRecord) {},
		},
	}
}

// portOf is the port of a host:port the loader resolved.
func portOf(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}

// newHelperCmd is the hidden command up starts for a managed helper.
func newHelperCmd(g *globals, k helperKind) *cobra.Command {
	var (
		profiles []string
		runDir   string
	)
	cmd := &cobra.Command{
		Use:    k.name + " TOPOLOGY",
		Short:  fmt.Sprintf("Run a cluster's managed %s (what up starts when the topology says managed)", k.title),
		Hidden: true,
		Args:   exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			t, err := loadTopology(c, g, args[0], profiles)
			if err != nil {
				return err
			}
			addr := k.addr(t)
			if addr == "" {
				return usageError{c, fmt.Errorf("the topology's %s is not managed", k.title)}
			}
			dir := master.RunDir(runDir)
			if dir == "" {
				dir = master.DefaultRunDir(t)
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			self := master.ProcessRecord{Pid: os.Getpid(), Addr: addr}
			self.StartTime, _ = proc.StartTime(self.Pid)
			k.record(t, &self)
			if err := dir.WriteHelper(k.name, self); err != nil {
				return err
			}
			defer func() { _ = dir.ClearHelper(k.name) }()
			return proc.Supervise(ctx, k.helper(t, dir), slog.New(engine.LogHandler(t, c.ErrOrStderr(), slog.LevelInfo)))
		},
	}
	cmd.Flags().StringSliceVarP(&profiles, "profile", "p", nil, "profiles")
	cmd.Flags().StringVar(&runDir, "run-dir", "", "the run directory")
	return cmd
}

// startHelpers starts the managed helpers t asks for, unless one answers
// already, and waits until each is ready. It gives what stops them, last,
// once no master runs any more (the cluster is down).
func startHelpers(ctx context.Context, t *topology.Topology, dir master.RunDir, profiles []string) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	for _, k := range helperKinds() {
		addr := k.addr(t)
		if addr == "" || k.ready(addr) {
			continue
		}
		args := []string{k.name, t.File, "--port-offset", strconv.Itoa(t.PortOffset), "--run-dir", string(dir)}
		for _, p := range profiles {
			args = append(args, "--profile", p)
		}
		p, err := proc.Start(proc.Spec{Path: exe, Args: args, LogFile: dir.Log(k.name)})
		if err != nil {
			return nil, fmt.Errorf("start the managed %s: %w", k.title, err)
		}
		exited := make(chan struct{})
		go func() { _, _ = p.Wait(); close(exited) }()
		if err := waitHelper(ctx, k.helper(t, dir).WaitReady, exited); err != nil {
			text, _ := master.TailLog(dir.Log(k.name), 15)
			return nil, fmt.Errorf("the managed %s: %w; the end of its log (%s):\n%s", k.title, err, dir.Log(k.name), text)
		}
	}
	return func() {
		if rec, err := dir.Master(); err != nil || !rec.Alive() {
			stopHelpers(dir)
		}
	}, nil
}

// waitHelper waits until a helper is ready, or its supervisor has exited:
// one that fails at once (a port it cannot bind) has said why in its log,
// and waiting out the timeout would only delay that.
func waitHelper(ctx context.Context, wait func(context.Context) error, exited <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := wait(ctx)
	select {
	case <-exited:
		if err != nil {
			return errors.New("it exited before it was ready")
		}
	default:
	}
	return err
}

// stopHelpers stops a run directory's managed helpers that run: down
// does, once the masters are gone.
func stopHelpers(dir master.RunDir) {
	if dir == "" {
		return
	}
	kinds := helperKinds()
	slices.Reverse(kinds)
	for _, k := range kinds {
		rec, err := dir.Helper(k.name)
		if err != nil || !rec.Alive() {
			continue
		}
		k.beforeStop(rec)
		_ = proc.Signal(rec.Pid, rec.StartTime, syscall.SIGTERM)
		for deadline := time.Now().Add(10 * time.Second); rec.Alive() && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		}
	}
}

// managedZookeeperGone reports a managed ZooKeeper that does not run: no
// master can be elected without it, and up starts the cluster afresh.
func managedZookeeperGone(h *topology.HA, dir master.RunDir) bool {
	if !h.Managed {
		return false
	}
	rec, err := dir.Helper("zookeeper")
	return err != nil || !rec.Alive()
}
