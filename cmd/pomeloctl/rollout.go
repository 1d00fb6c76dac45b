package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/engine/rollout"
	"github.com/pomeloctl/pomeloctl/engine/smoke"
	"github.com/pomeloctl/pomeloctl/topology"
)

type rolloutOptions struct {
	groups  []string
	drain   time.Duration
	between time.Duration
	stable  time.Duration
	yes     bool
	output  string
	noCheck bool
}

func (o *rolloutOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&o.groups, "groups", nil, "the groups to roll out, in this order (default every group with changes, in topology order; servers in no group last)")
	f.DurationVar(&o.drain, "drain", 2*time.Minute, "how long a group's frontends may keep their players before they are kicked")
	f.DurationVar(&o.between, "between", 2*time.Second, "how long a group is back in rotation before the next drains, for load balancers' readiness checks to see it")
	f.DurationVar(&o.stable, "stable", 3*time.Second, "how long each replaced server must keep running, in the same process, before its group counts as healthy")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask before starting (needed when standard input is not a terminal)")
	f.StringVarP(&o.output, "output", "o", "text", "the report: text or json")
	f.BoolVar(&o.noCheck, "no-check", false, "skip the topology's smoke scenarios after each group")
}

func newRolloutCmd(g *globals) *cobra.Command {
	var o rolloutOptions
	cn := &conn{g: g}
	cmd := &cobra.Command{
		Use:   "rollout TOPOLOGY [-p PROFILE] [--groups a,b] [--drain 2m] [--yes] [-o text|json]",
		Short: "Replace the servers a changed topology or program changes, group by group, without hurting players",
		Long: `Roll a changed topology, or a rebuilt program, out to the running cluster group
by group (groups: in the topology), as seed 003's release procedure does by hand.
Only the servers pomeloctl diff says to restart are touched. For each group:

  1. its frontends drain: the gates hand them out no more and their /ready answers
     503, while their players play on; until they have no players, or --drain
     has passed, when the rest are kicked with a reason (counted in the report)
     and log in again through a gate, which sends them to another group;
  2. its servers restart on the new program and configuration, backends first and
     one at a time (requests for a restarting backend wait for it), then its
     frontends;
  3. each must run the new build and configuration, and keep running for --stable,
     and the topology's smoke scenarios (if it declares smoke:) must pass, before
     the group is undrained and, --between later, the next begins.

A group that does not come up healthy (a crash loop, a failed check) is put back
on the program and configuration it ran — the old build is kept from the running
process before it is replaced — and the rollout stops with exit status 1.

It refuses before it starts a rollout that would drain every frontend of a type at
once, or that adds or removes servers (pomeloctl add, stop). Progress goes to
standard error, the report to standard output; the rollout's state is kept in the
run directory (rollout.json): pomeloctl rollout status shows it, pomeloctl rollout
resume carries on after an interruption.
` + connHelp,
		Example: `  pomeloctl up examples/chat/topology.yaml -p groups -d
  go build -o examples/chat/chat ./examples/chat && pomeloctl diff examples/chat/topology.yaml -p groups
  pomeloctl rollout examples/chat/topology.yaml -p groups --drain 30s --yes
  pomeloctl rollout topology.yaml --groups green,blue --drain 30s -o json`,
		Args: exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			return runRollout(c, g, cn, args[0], o, nil)
		},
	}
	cn.flags(cmd)
	o.flags(cmd)
	cmd.AddCommand(newRolloutStatusCmd(g), newRolloutResumeCmd(g))
	return cmd
}

func newRolloutStatusCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster's last rollout, from its run directory",
		Args:  cobra.NoArgs,
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return ctlCmd(g, cmd, func(c *cobra.Command, _ []string, tg *target) error {
		r, err := readRollout(tg.runDir)
		if err != nil {
			return err
		}
		if output == "json" {
			return writeJSON(c.OutOrStdout(), r)
		}
		if r.State == rollout.StateRunning && !rolloutAlive(r) {
			c.Printf("rollout of %s: interrupted (its process, pid %d, is gone): pomeloctl rollout resume carries on\n", r.Topology, r.Pid)
		} else {
			c.Printf("rollout of %s, started %s:\n", r.Topology, r.Started.Format(time.RFC3339))
		}
		r.WriteText(c.OutOrStdout())
		return nil
	})
}

func newRolloutResumeCmd(g *globals) *cobra.Command {
	var o rolloutOptions
	cn := &conn{g: g}
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "Carry on with an interrupted or failed rollout, from its run directory",
		Long: `Carry on with the cluster's last rollout: the groups it replaced are left as they
are, and the servers still to replace are found again with pomeloctl diff.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			tg, err := cn.resolve(c)
			if err != nil {
				return err
			}
			r, err := readRollout(tg.runDir)
			if err != nil {
				return err
			}
			if r.State == rollout.StateDone {
				c.Printf("the last rollout (%s) is done: nothing to resume\n", r.Topology)
				return nil
			}
			cn.profiles = r.Profiles
			return runRollout(c, g, cn, r.Topology, o, r)
		},
	}
	cn.flags(cmd)
	o.flags(cmd)
	return cmd
}

// runRollout plans and runs a rollout of path; prev is the rollout it
// resumes (nil for a new one).
func runRollout(c *cobra.Command, g *globals, cn *conn, path string, o rolloutOptions, prev *rollout.Report) error {
	if err := checkOutput(o.output, "text", "json"); err != nil {
		return usageError{c, err}
	}
	t, tg, d, err := diffRunning(c, g, cn, path)
	if err != nil {
		return err
	}
	if r, err := readRollout(tg.runDir); err == nil && r.State == rollout.StateRunning && rolloutAlive(r) {
		return fmt.Errorf("a rollout of %s is running already (pid %d): pomeloctl rollout status shows it", r.Topology, r.Pid)
	}
	groups, err := rolloutPlan(t, d, o.groups)
	if err != nil {
		return err
	}
	stderr := c.ErrOrStderr()
	if len(groups) == 0 {
		fmt.Fprintln(stderr, "nothing to roll out: every server runs this topology's configuration and program (pomeloctl diff)")
		return nil
	}
	for _, gr := range groups {
		fmt.Fprintf(stderr, "group %s: %s\n", gr.Name, strings.Join(gr.IDs(), ", "))
	}
	if !o.yes {
		if err := confirm(c, "roll these groups out, one after the other?"); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := rollout.Options{
		Drain:    o.drain,
		Between:  o.between,
		Stable:   o.stable,
		Topology: admin.ApplyRequest{File: t.File, Source: string(t.Source)},
		Progress: func(format string, args ...any) {
			line := fmt.Sprintf(format, args...)
			fmt.Fprintln(stderr, line)
			// And to whoever watches the cluster (pomeloctl tui); a
			// master that cannot take it does not hold the rollout up.
			nctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			_ = tg.client.Note(nctx, "rollout: "+line)
		},
		Saved: func(r *rollout.Report) {
			r.Topology, r.Profiles, r.Pid, r.PidStart = t.File, cn.profiles, 0, 0
			if r.State == rollout.StateRunning {
				r.Pid = os.Getpid()
				r.PidStart, _ = proc.StartTime(r.Pid)
			}
			if err := writeRollout(tg.runDir, r); err != nil {
				fmt.Fprintf(stderr, "warning: the rollout's state could not be kept (%v): rollout status and resume will not know it\n", err)
			}
		},
	}
	if prev != nil {
		opts.Done = prev.Groups
	}
	if t.Smoke != nil && len(t.Smoke.Scenarios) > 0 && !o.noCheck {
		opts.Check = smokeCheck(t, tg)
	}
	r := rollout.Run(ctx, tg.client, groups, opts)
	if o.output == "json" {
		if err := writeJSON(c.OutOrStdout(), r); err != nil {
			return err
		}
	} else {
		r.WriteText(c.OutOrStdout())
	}
	if r.State == rollout.StateFailed {
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if _, err := tg.client.Info(ictx); err != nil {
			fmt.Fprintf(stderr, "the master does not answer (%v): once it is back (pomeloctl up adopts the servers), pomeloctl rollout resume carries on\n", err)
		} else {
			fmt.Fprintln(stderr, "pomeloctl rollout resume carries on once the cause is dealt with; pomeloctl rollout status shows where it stopped")
		}
	}
	if r.State != rollout.StateDone {
		return errReported
	}
	return nil
}

// rolloutPlan is the groups a rollout replaces: the servers diff says to
// restart, refused when it adds or removes servers or would drain every
// frontend of a type at once.
func rolloutPlan(t *topology.Topology, d diffReport, order []string) ([]rollout.Group, error) {
	if n, m := d.Counts[changeAdd], d.Counts[changeRemove]; n+m > 0 {
		var names []string
		for _, s := range d.Servers {
			if s.Change == changeAdd || s.Change == changeRemove {
				names = append(names, s.ID+" ("+s.Change+")")
			}
		}
		return nil, fmt.Errorf("a rollout replaces servers in place, and this topology adds or removes some: %s; add them with pomeloctl add, or stop them, first (pomeloctl diff shows the rest)", strings.Join(names, ", "))
	}
	var servers []rollout.Server
	for _, ch := range d.Servers {
		if ch.Change != changeRestart {
			continue
		}
		s := t.Server(ch.ID)
		servers = append(servers, rollout.Server{ID: s.ID, Type: s.Type, Group: s.Group, Frontend: s.Frontend,
			Program: ch.NewProgram, Config: ch.newConfig})
	}
	known := t.GroupNames()
	for _, g := range order {
		if g != rollout.NoGroup && !slices.Contains(known, g) {
			return nil, fmt.Errorf("--groups: no group %q in %s (its groups: %s)", g, t.File, strings.Join(known, ", "))
		}
	}
	groups := rollout.Plan(servers, order)
	frontends := map[string][]string{}
	for _, s := range t.AllServers() {
		if s.Frontend {
			frontends[s.Type] = append(frontends[s.Type], s.ID)
		}
	}
	return groups, rollout.Check(groups, frontends)
}

// smokeCheck plays the topology's smoke scenarios (not its chaos steps)
// against the cluster: a group's health check.
func smokeCheck(t *topology.Topology, tg *target) func(context.Context, rollout.Group) error {
	scenarios := *t
	scenarios.Smoke = &topology.Smoke{Timeout: t.Smoke.Timeout, Scenarios: t.Smoke.Scenarios}
	return func(ctx context.Context, _ rollout.Group) error {
		r := smoke.Run(ctx, &scenarios, &smokeCluster{t: t, tg: tg}, smoke.Options{})
		if r.Passed {
			return nil
		}
		for _, s := range r.Scenarios {
			if !s.Passed {
				msg := fmt.Sprintf("scenario %s: %s", s.Name, s.Counts)
				if len(s.Failures) > 0 {
					msg += ": " + s.Failures[0].String()
				}
				return errors.New(msg)
			}
		}
		return errors.New(r.Error)
	}
}

// confirm asks on the terminal; off one, it refuses (--yes says so).
func confirm(c *cobra.Command, question string) error {
	in, ok := c.InOrStdin().(*os.File)
	if !ok || !isTerminal(in) {
		return usageError{c, errors.New("standard input is not a terminal to ask on: pass --yes to roll out without asking")}
	}
	fmt.Fprintf(c.ErrOrStderr(), "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return errors.New("not rolled out")
	}
	return nil
}

const rolloutFile = "rollout.json"

func readRollout(dir master.RunDir) (*rollout.Report, error) {
	if dir == "" {
		return nil, errors.New("no run directory: name the topology (-t) or --run-dir")
	}
	data, err := os.ReadFile(filepath.Join(string(dir), rolloutFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no rollout in %s: none has run since the cluster came up", dir)
	}
	if err != nil {
		return nil, err
	}
	var r rollout.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(string(dir), rolloutFile), err)
	}
	return &r, nil
}

func writeRollout(dir master.RunDir, r *rollout.Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(string(dir), rolloutFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// rolloutAlive reports whether the process that ran r runs still.
func rolloutAlive(r *rollout.Report) bool {
	return r.Pid > 0 && r.Pid != os.Getpid() && proc.Alive(r.Pid, r.PidStart)
}
