package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine"
	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/topology"
)

// upOptions are `up`'s flags.
type upOptions struct {
	profiles []string
	detach   bool
	timeout  time.Duration
	runDir   string
	noTUI    bool
	machine  topology.Machine // which hosts are this one (globals.machine)
}

func newUpCmd(g *globals) *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up TOPOLOGY [-p PROFILE] [-d] [--timeout D]",
		Short: "Start the cluster: the master, which launches and supervises every server",
		Long: `Start the master, which launches every server of the topology as its own
process (the type's command, or pomeloctl serve), supervises it and keeps a
monitor link to it. Each server logs to its own file in the run directory
(.pomeloctl/PORT beside the topology); servers outlive the master, and 'up' on a
cluster whose master was killed adopts the servers still running.

In the foreground on a terminal, 'up' opens the terminal UI (pomeloctl tui) on
the cluster it starts; quitting it brings the cluster down. With --no-tui, in CI,
or when its output is not a terminal, it prints every server's log lines under its
name and the servers as they come up, then a table once all run; Ctrl-C stops the
cluster.
With -d it starts the master in the background and returns once every server
runs. Either way, a server that has not come up within --timeout is named with
the end of its log, the cluster is stopped, and 'up' exits 1.

Exit status: 0 the cluster ran (and, in the foreground, was stopped cleanly),
1 it did not come up or the topology uses something not built yet, 2 the
topology is invalid.`,
		Example: `  pomeloctl up examples/chat/topology.yaml
  pomeloctl up topology.yaml -p ci -d --timeout 30s && pomeloctl ls -t topology.yaml`,
		Args: exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			t, err := loadTopology(c, g, args[0], o.profiles)
			if err != nil {
				return err
			}
			if err := checkPlan(c, t, args[0]); err != nil {
				return err
			}
			dir, err := freeRunDir(t, o.runDir)
			if err != nil {
				return err
			}
			if err := ledElsewhere(c.Context(), t, dir); err != nil {
				return err
			}
			o.machine = g.machine
			if o.detach {
				return upDetached(c, t, dir, o)
			}
			if wantsTUI(c, o) {
				return upTUI(c, t, dir, o)
			}
			return upForeground(c, t, dir, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.profiles, "profile", "p", nil, "merge profiles/NAME.yaml (or a path) over the topology; repeat to stack")
	f.BoolVarP(&o.detach, "detach", "d", false, "run the master in the background; return once every server runs")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "how long every server has to come up")
	f.StringVar(&o.runDir, "run-dir", "", "the run directory (default .pomeloctl/PORT beside the topology)")
	f.BoolVar(&o.noTUI, "no-tui", false, "in the foreground on a terminal, print the servers' logs instead of opening the terminal UI")
	return cmd
}

// checkPlan refuses what validate reports, from the same check: every
// server's plan, and what the runtime does not do yet.
func checkPlan(c *cobra.Command, t *topology.Topology, path string) error {
	var list topology.ErrorList
	if err := server.Check(t, nil); errors.As(err, &list) {
		c.PrintErrln(list.Error())
		c.PrintErrf("%s: not started: %s\n", path, plural(len(list), "problem"))
		return errReported
	}
	return nil
}

// freeRunDir is the run directory a new cluster of t takes (named, or
// t's default), refused while a live master holds it.
func freeRunDir(t *topology.Topology, named string) (master.RunDir, error) {
	dir := master.RunDir(named)
	if dir == "" {
		dir = master.DefaultRunDir(t)
	}
	if rec, err := dir.Master(); err == nil && rec.Alive() {
		return "", &master.RunningError{Record: rec, Dir: dir}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return dir, nil
}

// loadTopology loads a topology for a command that runs it, printing its
// warnings and errors.
func loadTopology(c *cobra.Command, g *globals, path string, profiles []string) (*topology.Topology, error) {
	return reported(c)(topology.Load(path, g.loadOptions(c, profiles)))
}

// reported prints a load's warnings and errors and passes on its result.
func reported(c *cobra.Command) func(*topology.Topology, []topology.Warning, error) (*topology.Topology, error) {
	return func(t *topology.Topology, warnings []topology.Warning, err error) (*topology.Topology, error) {
		printWarnings(c.ErrOrStderr(), warnings)
		if err != nil {
			var list topology.ErrorList
			if errors.As(err, &list) {
				c.PrintErrln(list.Error())
			}
			return nil, err
		}
		return t, nil
	}
}

// upForeground runs the master in this process.
func upForeground(c *cobra.Command, t *topology.Topology, dir master.RunDir, o upOptions) error {
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	names := []string{"master"}
	for _, s := range t.AllServers() {
		names = append(names, s.ID)
	}
	con := newConsole(c.OutOrStdout(), names)
	defer con.close() // last: after the tailer and the master are done with it
	logFile, err := openMasterLog(dir)
	if err != nil {
		return err
	}
	defer logFile.Close()
	total := len(names) - 1
	running := 0
	gaveUp := make(chan lifecycle.Event, 1) // a server that will not come up: no need to wait out --timeout
	cfg := master.Config{
		Topology: t,
		RunDir:   dir,
		Machine:  o.machine,
		// The console shows progress lines; the master's own lines go to
		// its log, and to the console only when they are warnings.
		Logger: slog.New(slog.NewMultiHandler(engine.LogHandler(t, logFile, slog.LevelDebug), engine.LogHandler(t, con.writer("master"), slog.LevelWarn))),
		OnEvent: func(e lifecycle.Event) {
			switch {
			case e.To == lifecycle.Running:
				running++
			case e.From == lifecycle.Running:
				running--
			}
			if e.To == lifecycle.Running || e.To == lifecycle.Exited || e.To == lifecycle.Failed || e.To == lifecycle.Backoff {
				con.line("pomeloctl", fmt.Sprintf("%s %s (%s) [%d/%d running]", e.Server, e.To, e.Reason, running, total))
			}
			if e.To == lifecycle.Exited || e.To == lifecycle.Failed {
				select {
				case gaveUp <- e:
				default:
				}
			}
		},
	}
	tailCtx, stopTail := context.WithCancel(context.Background())
	tailed := make(chan struct{})
	go func() { defer close(tailed); tailLogs(tailCtx, dir, con) }()
	defer func() { stopTail(); <-tailed }()

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
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends up at once, as it would any program
		if c.Context().Err() == nil {
			con.line("pomeloctl", "stopping the cluster (Ctrl-C again quits now and leaves what still runs: pomeloctl up adopts it, pomeloctl down stops it)")
		}
	}()
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	started := time.Now()
	var failed error
	select {
	case <-m.Ready():
		if list, err := m.Servers(ctx); err == nil {
			var table strings.Builder
			_ = writeServers(&table, list, time.Now())
			con.block(table.String())
		}
		con.line("pomeloctl", fmt.Sprintf("cluster ready in %s: %s; Ctrl-C stops it (pomeloctl ls, pomeloctl down from another terminal)",
			time.Since(started).Round(time.Millisecond), plural(total, "server")))
		if u := webURL(t); u != "" {
			con.line("pomeloctl", "its web page: "+u)
		}
		if t.HA != nil {
			if err := startStandbys(c, t, dir, o); err != nil {
				con.line("pomeloctl", err.Error())
			}
		}
	case e := <-gaveUp:
		failed = notReady(c, m.Servers, fmt.Sprintf("not ready: %s is %s and will not be restarted", e.Server, e.To), func(id string) (string, error) { return master.TailLog(dir.Log(id), 10) })
		stopCluster()
	case <-timer.C:
		failed = notReady(c, m.Servers, "not ready within "+o.timeout.String(), func(id string) (string, error) { return master.TailLog(dir.Log(id), 10) })
		stopCluster()
	case err := <-done:
		return err
	}
	err = <-done
	if failed != nil {
		return failed
	}
	if err == nil {
		con.line("pomeloctl", "cluster stopped")
	}
	return err
}

// startMaster runs the cluster's master in this process, its result to
// done, and returns it with what stops the cluster. With master HA it runs
// as the first candidate (elected at once): stopping the cluster is then a
// down, which the standbys follow, and Ctrl-C a second time hands over.
func startMaster(ctx context.Context, t *topology.Topology, cfg master.Config, done chan<- error) (*master.Master, func(), error) {
	if t.HA == nil {
		m, err := master.New(cfg)
		if err != nil {
			return nil, nil, err
		}
		runCtx, stop := context.WithCancel(ctx)
		go func() { done <- m.Run(runCtx) }()
		return m, stop, nil
	}
	led := make(chan *master.Master, 1)
	cfg.OnLead = func(m *master.Master) {
		select {
		case led <- m:
		default:
		}
	}
	haCtx, handOver := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan error, 1)
	go func() { ran <- master.RunHA(haCtx, cfg, true) }()
	var m *master.Master
	select {
	case m = <-led:
	case err := <-ran:
		handOver()
		if err == nil {
			err = errors.New("the master left before it led")
		}
		return nil, nil, err
	}
	go func() {
		err := <-ran
		// As down does: the cluster is down once the standbys, elected
		// after it, have left too (and the console has shown them go).
		wait, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		ha.WaitElectionEmpty(wait, t.HA.Zookeeper, t.HA.Path, t.HA.Auth.Value)
		done <- err
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			go func() {
				if err := m.Down(context.Background()); err != nil {
					handOver()
				}
			}()
		})
	}
	go func() {
		<-ctx.Done()
		stop()
	}()
	return m, stop, nil
}

// notReady names the servers that did not come up, each with the
// end of its log.
// end of its log; headline says why up gives up ("not ready within 60s").
func notReady(c *cobra.Command, servers func(context.Context) ([]admin.ServerStatus, error), headline string, tail func(id string) (string, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := servers(ctx)
	if err != nil {
		return fmt.Errorf("the cluster did not come up (%s), and the master does not answer: %w", headline, err)
	}
	// Once one server is known not to come back, those still starting may
	// yet: only the ones that gave up are named.
	gaveUp := slices.ContainsFunc(list, over)
	var names, waiting []string
	for _, s := range list {
		if s.State == lifecycle.Running.String() || gaveUp && !over(s) {
			continue
		}
		if s.State == lifecycle.Stopped.String() {
			// Frontends held back until the backends register: the
			// backends named are why.
			waiting = append(waiting, s.ID)
			continue
		}
		names = append(names, s.ID)
		why := s.State
		if s.Reason != "" {
			why += ": " + s.Reason
		}
		c.PrintErrf("%s did not come up (%s)\n", s.ID, why)
		if text, err := tail(s.ID); err == nil && text != "" {
			c.PrintErrf("  the end of its log:\n    %s\n", strings.ReplaceAll(strings.TrimRight(text, "\n"), "\n", "\n    "))
		}
	}
	if len(waiting) > 0 {
		c.PrintErrf("not launched, waiting for those: %s (frontends are launched once the backends have registered)\n", strings.Join(waiting, ", "))
	}
	c.PrintErrf("%s: %s; stopping the cluster\n", headline, strings.Join(names, ", "))
	return errReported
}

// ledElsewhere refuses to start a cluster with master HA that a leader
// runs from another host (or run directory), as ZooKeeper says: up would
// start it anew over the running one, and forget the state that leader
// keeps there.
func ledElsewhere(ctx context.Context, t *topology.Topology, dir master.RunDir) error {
	if t.HA == nil || managedZookeeperGone(t.HA, dir) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if l, ok := ha.LeaderOf(ctx, t.HA.Zookeeper, t.HA.Path, t.HA.Auth.Value); ok {
		return fmt.Errorf("the cluster is already running: master %s leads it from %s (epoch %d), as ZooKeeper at %s says; `pomeloctl ls` shows it, `pomeloctl down` stops it",
			l.ID, l.Addr, l.Epoch, strings.Join(t.HA.Zookeeper, ","))
	}
	return nil
}

// upDetached starts the master as a background process and waits until
// the cluster is ready.
func upDetached(c *cobra.Command, t *topology.Topology, dir master.RunDir, o upOptions) error {
	user, password := actingUser(t)
	if user == "" {
		return errors.New("up -d follows the cluster through the admin API, and master.users has no level-1 user to do it with: add one, or run up in the foreground")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"master", t.File, "--port-offset", strconv.Itoa(t.PortOffset), "--run-dir", string(dir)}
	for _, p := range o.profiles {
		args = append(args, "--profile", p) // as written: resolved from this folder again
	}
	started := time.Now()
	if _, err := startHelpers(c.Context(), t, dir, o.profiles); err != nil {
		return err
	}
	first := args
	if t.HA != nil {
		// The first candidate: elected at once, and starting the cluster
		// anew (an earlier down forgotten).
		first = append(slices.Clone(args), "--fresh")
	}
	p, err := proc.Start(proc.Spec{Path: exe, Args: first, LogFile: dir.Log("master")})
	if err != nil {
		return fmt.Errorf("start the master: %w", err)
	}
	go func() { _, _ = p.Wait() }() // reaped if it dies while we wait
	cl := admin.NewClient(masterAddr(t), user, password)
	ctx, cancel := context.WithTimeout(c.Context(), o.timeout)
	defer cancel()
	headline, err := waitReady(ctx, cl, p)
	if err != nil {
		text, _ := master.TailLog(dir.Log("master"), 15)
		return fmt.Errorf("%w; the end of its log (%s):\n%s", err, dir.Log("master"), text)
	}
	if headline != "" {
		if ctx.Err() != nil {
			headline = "not ready within " + o.timeout.String()
		}
		failed := notReady(c, cl.Servers, headline, func(id string) (string, error) {
			chunk, err := cl.Logs(c.Context(), admin.LogRequest{ID: id, Offset: -1, Tail: 10})
			return chunk.Data, err
		})
		if err := cl.Down(c.Context()); err != nil {
			// The master does not answer: it is ours, stop it the
			// other way (it stops the cluster on SIGTERM).
			c.PrintErrf("could not stop the cluster through the admin API (%v); sending SIGTERM to the master, pid %d\n", err, p.Pid)
			_ = proc.Signal(p.Pid, p.StartTime, syscall.SIGTERM)
		}
		waitMasterGone(c.Context(), cl)
		return failed
	}
	list, err := cl.Servers(c.Context())
	if err != nil {
		return err
	}
	if err := writeServers(c.OutOrStdout(), list, time.Now()); err != nil {
		return err
	}
	c.Printf("cluster ready in %s: %s; master pid %d on %s, logs in %s\n", time.Since(started).Round(time.Millisecond),
		plural(len(list), "server"), p.Pid, masterAddr(t), dir.Log("*"))
	if u := webURL(t); u != "" {
		c.Printf("its web page: %s\n", u)
	}
	if t.HA != nil {
		return startStandbys(c, t, dir, o)
	}
	return nil
}

// startStandbys starts each of ha.standbys as a master process of its
// own, which stands by behind the leader: on this host, or over ssh on
// its own.
func startStandbys(c *cobra.Command, t *topology.Topology, dir master.RunDir, o upOptions) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	for _, sb := range t.Masters()[1:] {
		spec, err := master.StandbySpec(t, dir, exe, sb.ID, o.machine, o.profiles)
		if err != nil {
			return err
		}
		sp, err := proc.Start(spec)
		if err != nil {
			return fmt.Errorf("start the standby master %s: %w", sb.ID, err)
		}
		go func() { _, _ = sp.Wait() }()
		if spec.Path == "ssh" {
			c.Printf("standby master %s: started over ssh (pid %d here) on %s, its log in %s there\n", sb.ID, sp.Pid, sb.Addr, spec.LogFile)
		} else {
			c.Printf("standby master %s: pid %d on %s\n", sb.ID, sp.Pid, sb.Addr)
		}
	}
	return nil
}

// waitReady follows the cluster that master process p runs through its
// event stream until every server runs at once. It gives a headline
// when the cluster will not come up, a server having exited or failed
// for good, or ctx having ended; an error when the master itself exited.
func waitReady(ctx context.Context, cl *admin.Client, p *proc.Process) (headline string, err error) {
	gone := func() error {
		if proc.Alive(p.Pid, p.StartTime) {
			return nil
		}
		return errors.New("the master exited")
	}
	// Until the master listens there is no stream to read: it does within
	// milliseconds of its start.
	for {
		info, err := cl.Info(ctx)
		if err == nil && info.Pid == p.Pid {
			break
		}
		if err := gone(); err != nil {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "not ready", nil
		case <-time.After(10 * time.Millisecond):
		}
	}
	ready := errors.New("ready")
	since := ""
	for {
		since, err = cl.Events(ctx, since, func(e admin.Event) error {
			switch e.Kind {
			case admin.KindReady:
				return ready
			case admin.KindSnapshot, admin.KindStats:
				if e.Master != nil && e.Master.Ready {
					return ready
				}
				for _, s := range e.Servers {
					if over(s) {
						headline = fmt.Sprintf("not ready: %s is %s and will not be restarted", s.ID, s.State)
						return errReported
					}
				}
			case admin.KindServer:
				if to := e.Server.To; to == lifecycle.Exited.String() || to == lifecycle.Failed.String() {
					headline = fmt.Sprintf("not ready: %s is %s and will not be restarted", e.Server.ID, to)
					return errReported
				}
			}
			return nil
		})
		switch {
		case errors.Is(err, ready):
			return "", nil
		case headline != "":
			return headline, nil
		case ctx.Err() != nil:
			return "not ready", nil
		}
		if err := gone(); err != nil {
			return "", err
		}
		// The stream broke with the master alive: read on from there.
		select {
		case <-ctx.Done():
			return "not ready", nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// over reports a server that will not come up unless an operator starts it.
func over(s admin.ServerStatus) bool {
	return s.State == lifecycle.Exited.String() || s.State == lifecycle.Failed.String()
}

// actingUser is the topology's first level-1 user and password, whom `up
// -d` and the control commands call the master as; "" when there is none.
func actingUser(t *topology.Topology) (string, string) {
	for _, u := range t.Master.Users {
		if u.Level <= admin.LevelAct {
			return u.Username, u.Password.Value
		}
	}
	return "", ""
}

func newMasterCmd(g *globals) *cobra.Command {
	var (
		profiles  []string
		runDir    string
		standby   string
		fresh     bool
		zks       []string
		stdinPath string
	)
	cmd := &cobra.Command{
		Use:   "master TOPOLOGY|- [--standby ID]",
		Short: "Run a cluster's master in this process (what up -d starts); with ha, a standby",
		Long: `Run a cluster's master in this process: what up -d starts.

With ha in the topology, the master campaigns in ZooKeeper and leads only once
elected; --standby ID runs one of ha.standbys, on its own admin address, as a
hot standby that takes over (adopting every running server) when the leader
goes. SIGTERM to a leader hands over at once; the servers run on.

TOPOLOGY - reads the resolved topology on stdin, --stdin-path naming the file
it stands for: how up starts a standby on another host over ssh.`,
		Args: exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			t, err := loadMasterTopology(c, g, args[0], stdinPath, profiles)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg := master.Config{Topology: t, RunDir: master.RunDir(runDir), Machine: g.machine, Logger: slog.New(engine.LogHandler(t, c.ErrOrStderr(), slog.LevelDebug))}
			if t.HA == nil {
				if standby != "" {
					return usageError{c, fmt.Errorf("--standby %s: the topology declares no ha, so it has no standby masters", standby)}
				}
				m, err := master.New(cfg)
				if err != nil {
					return err
				}
				return m.Run(ctx)
			}
			if len(zks) > 0 {
				t.HA.Zookeeper = zks // this master's way to the ensemble
			}
			if standby != "" {
				standbys := t.Masters()[1:]
				i := slices.IndexFunc(standbys, func(s topology.MasterAddr) bool { return s.ID == standby })
				if i < 0 {
					return usageError{c, fmt.Errorf("--standby %s: not one of ha.standbys in %s", standby, t.File)}
				}
				cfg.ID, cfg.Addr = standbys[i].ID, standbys[i].Addr
			}
			return master.RunHA(ctx, cfg, fresh)
		},
	}
	cmd.Flags().StringSliceVarP(&profiles, "profile", "p", nil, "profiles")
	cmd.Flags().StringVar(&runDir, "run-dir", "", "the run directory")
	cmd.Flags().StringVar(&standby, "standby", "", "with ha: run the standby master ID (one of ha.standbys)")
	cmd.Flags().BoolVar(&fresh, "fresh", false, "with ha: start the cluster, forgetting an earlier down (what up passes)")
	cmd.Flags().StringSliceVar(&zks, "zookeeper", nil, "with ha: the ZooKeeper servers this master talks to, instead of ha.zookeeper (e.g. the ensemble's members nearest it)")
	cmd.Flags().StringVar(&stdinPath, "stdin-path", "", "with TOPOLOGY -, the path of the file the topology on stdin stands for")
	_ = cmd.Flags().MarkHidden("fresh")
	return cmd
}

// loadMasterTopology loads the topology a master runs: from its file, or,
// with path "-", from stdin (the resolved topology up sends over ssh), its
// paths resolved from stdinPath's folder.
func loadMasterTopology(c *cobra.Command, g *globals, path, stdinPath string, profiles []string) (*topology.Topology, error) {
	if path != "-" {
		return loadTopology(c, g, path, profiles)
	}
	if stdinPath == "" {
		return nil, usageError{c, errors.New("with TOPOLOGY -, name the file it stands for with --stdin-path")}
	}
	data, err := io.ReadAll(io.LimitReader(c.InOrStdin(), 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the topology from stdin: %w", err)
	}
	return reported(c)(topology.LoadBytes(stdinPath, data, g.loadOptions(c, profiles)))
}
