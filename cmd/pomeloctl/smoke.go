package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/smoke"
	"github.com/pomeloctl/pomeloctl/internal/freeport"
	"github.com/pomeloctl/pomeloctl/topology"
)

// exitNotUp is smoke's status when the cluster never came up: nothing was
// played, which CI should tell from a game that failed its smoke.
const exitNotUp = 3

// errNotUp marks a smoke run whose cluster never came up.
var errNotUp = errors.New("the cluster never came up")

type smokeOptions struct {
	profiles []string
	junit    string
	output   string
	runDir   string
	timeout  time.Duration
}

func newSmokeCmd(g *globals) *cobra.Command {
	var o smokeOptions
	cmd := &cobra.Command{
		Use:   "smoke TOPOLOGY [-p PROFILE] [--junit FILE] [-o text|json]",
		Short: "Bring the cluster up, play the topology's smoke section against it, bring it down",
		Long: `Bring the cluster up in the background, wait until every server runs, play
the scenarios of the topology's smoke: section (bots that log in through a gate,
send requests and notifies, and check replies and pushes), then its chaos steps
(kill or stop a server, kill the leading master, restart Redis, with a scenario
playing), and bring everything down again — also on a failure or Ctrl-C.

The cluster runs on the topology's ports as the profiles shift them (the ci
profile adds 20000); when any of them is taken, on a free offset found here, so
that a smoke run never meets a cluster already running. --port-offset chooses.

Progress goes to standard error; the report (text, or -o json) to standard
output; --junit also writes it as JUnit XML for the CI system. See docs/smoke.md.

Exit status: 0 everything passed, 1 something failed, 2 the topology is invalid
(or declares no smoke section), 3 the cluster never came up.`,
		Example: `  pomeloctl smoke examples/chat/topology.yaml --profile ci
  pomeloctl smoke topology.yaml -p ci --junit smoke.xml -o json > smoke.json`,
		Args: exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(o.output, "text", "json"); err != nil {
				return usageError{c, err}
			}
			return runSmoke(c, g, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.profiles, "profile", "p", nil, "merge profiles/NAME.yaml (or a path) over the topology; repeat to stack (CI runs use ci)")
	f.StringVar(&o.junit, "junit", "", "also write the report as JUnit XML to FILE")
	f.StringVarP(&o.output, "output", "o", "text", "the report on standard output: text or json")
	f.StringVar(&o.runDir, "run-dir", "", "the run directory (default .pomeloctl/PORT beside the topology)")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "how long every server has to come up")
	return cmd
}

func runSmoke(c *cobra.Command, g *globals, path string, o smokeOptions) error {
	t, err := loadSmokeTopology(c, g, path, o.profiles)
	if err != nil {
		return err
	}
	dir, err := freeRunDir(t, o.runDir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	user, password := actingUser(t)
	tg := &target{runDir: dir, ha: t.HA, topology: t, user: user, password: password, addr: masterAddr(t)}
	tg.client = admin.NewClient(tg.addr, user, password)
	// Down whatever came up, however this ends: with a context of its
	// own, since Ctrl-C has ended ctx.
	defer smokeDown(c, tg)

	stderr := c.ErrOrStderr()
	fmt.Fprintf(stderr, "smoke: bringing %s up (master on %s, run directory %s)\n", path, tg.addr, dir)
	if err := smokeUp(c, ctx, g, t, dir, o); err != nil {
		switch {
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "smoke: interrupted while the cluster came up")
		case !errors.Is(err, errReported): // else up has said why
			fmt.Fprintf(stderr, "smoke: %v\n", err)
		}
		fmt.Fprintf(stderr, "smoke: %s, so nothing was played\n", errNotUp)
		return errNotUp
	}
	cluster := &smokeCluster{t: t, tg: tg}
	defer cluster.close()
	report := smoke.Run(ctx, t, cluster, smoke.Options{Progress: stderr, Profiles: o.profiles})
	if o.junit != "" {
		if err := writeJUnit(o.junit, report); err != nil {
			return err
		}
	}
	if o.output == "json" {
		if err := writeJSON(c.OutOrStdout(), report); err != nil {
			return err
		}
	} else {
		report.WriteText(c.OutOrStdout())
	}
	if !report.Passed {
		return errReported
	}
	return nil
}

// loadSmokeTopology loads the topology as up does, and moves it to a
// free port offset when any of its ports is taken (unless --port-offset
// says where).
func loadSmokeTopology(c *cobra.Command, g *globals, path string, profiles []string) (*topology.Topology, error) {
	t, err := loadTopology(c, g, path, profiles)
	if err != nil {
		return nil, err
	}
	if t.Smoke == nil {
		c.PrintErrf("%s: no smoke section to play: declare smoke: with scenarios (docs/smoke.md)\n", path)
		return nil, topology.ErrInvalid
	}
	if err := checkPlan(c, t, path); err != nil {
		return nil, err
	}
	ports := topologyPorts(t)
	if c.Flags().Changed("port-offset") || freeport.Free(ports, 0) {
		return t, nil
	}
	extra, err := freeport.Offset(ports...)
	if err != nil {
		return nil, fmt.Errorf("some of the topology's ports are taken, and no offset frees them all (%w): choose one with --port-offset", err)
	}
	off := t.PortOffset + extra
	c.PrintErrf("smoke: some of the topology's ports are taken; running at port offset %d instead of %d\n", off, t.PortOffset)
	opts := g.loadOptions(c, profiles)
	opts.PortOffset = &off
	return reported(c)(topology.Load(path, opts))
}

// topologyPorts are the ports a cluster of t listens on, on this machine.
func topologyPorts(t *topology.Topology) []int {
	var ports []int
	for _, l := range t.Listeners() {
		ports = append(ports, l.Port)
	}
	return ports
}

// smokeUp starts the cluster as up -d does, its table and lines on
// standard error: standard output is the report's.
func smokeUp(c *cobra.Command, ctx context.Context, g *globals, t *topology.Topology, dir master.RunDir, o smokeOptions) error {
	defer onStderr(c, ctx)()
	return upDetached(c, t, dir, upOptions{profiles: o.profiles, detach: true, timeout: o.timeout, runDir: string(dir), machine: g.machine})
}

// onStderr points c's output at its standard error and its context at ctx,
// for the commands smoke runs as they are, until the returned func puts
// them back.
func onStderr(c *cobra.Command, ctx context.Context) func() {
	out, parent := c.OutOrStdout(), c.Context()
	c.SetOut(c.ErrOrStderr())
	c.SetContext(ctx)
	return func() { c.SetOut(out); c.SetContext(parent) }
}

// smokeDown brings the cluster down, whatever state it is in, its lines on
// standard error.
func smokeDown(c *cobra.Command, tg *target) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	defer onStderr(c, ctx)()
	if _, err := tg.runDir.Master(); errors.Is(err, fs.ErrNotExist) {
		// No master runs, or it has gone down already (up does when
		// the cluster does not come up): only the helpers may be left.
		stopHelpers(tg.runDir)
		return
	}
	tg.client, tg.addr = tg.leader(ctx)
	if err := downCluster(c, tg); err != nil {
		c.PrintErrf("smoke: bringing the cluster down: %v (run directory %s)\n", err, tg.runDir)
	}
}

func writeJUnit(path string, r *smoke.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("the JUnit report: %w", err)
	}
	if err := r.WriteJUnit(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("the JUnit report: %w", err)
	}
	return nil
}
