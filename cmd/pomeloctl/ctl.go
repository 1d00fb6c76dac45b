package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/ha"
	"github.com/pomeloctl/pomeloctl/engine/master"
)

// The control commands: each is a thin shell over the admin API client.

// ctlCmd builds a control command with the connection flags.
func ctlCmd(g *globals, cmd *cobra.Command, run func(c *cobra.Command, args []string, tg *target) error) *cobra.Command {
	cn := &conn{g: g}
	cn.flags(cmd)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		tg, err := cn.resolve(c)
		if err != nil {
			return err
		}
		return tg.reached(run(c, args, tg))
	}
	return cmd
}

const connHelp = `
The master is found from --master, --user and --password, else
$POMELOCTL_MASTER, $POMELOCTL_USER and $POMELOCTL_PASSWORD, else the topology
(--topology, $POMELOCTL_TOPOLOGY, or ./topology.yaml): its master's address and its
first level-1 user; else Pomelo's defaults, 127.0.0.1:3005 and admin/admin. With
$POMELOCTL_NO_DEFAULTS set, neither ./topology.yaml nor those defaults are tried.

Exit status: 0 done, 1 the master refused or the command failed, 3 no master
answered.`

func newLsCmd(g *globals) *cobra.Command {
	var (
		output  string
		masters bool
	)
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the cluster's servers: state, pid, ports, uptime, cpu, memory, connections",
		Long:  "List every server of the running cluster as the master sees it.\n" + connHelp,
		Example: `  pomeloctl ls
  pomeloctl ls --topology examples/chat/topology.yaml -o json
  pomeloctl ls --masters -o json`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.Flags().BoolVar(&masters, "masters", false, "list the masters of master HA (role, ZooKeeper session, epoch) instead of the servers")
	return ctlCmd(g, cmd, func(c *cobra.Command, _ []string, tg *target) error {
		if err := checkOutput(output, "table", "json"); err != nil {
			return usageError{c, err}
		}
		if masters {
			info, err := tg.client.Info(c.Context())
			if err != nil {
				return err
			}
			if len(info.Masters) == 0 {
				return fmt.Errorf("the cluster has one master, %s: its topology declares no ha", info.ID)
			}
			if output == "json" {
				return writeJSON(c.OutOrStdout(), info.Masters)
			}
			return writeMasters(c.OutOrStdout(), info.Masters)
		}
		list, err := tg.client.Servers(c.Context())
		if err != nil {
			return err
		}
		if output == "json" {
			return writeJSON(c.OutOrStdout(), list)
		}
		// With master HA, the masters first: who leads, who stands by.
		if tg.ha == nil {
			return writeServers(c.OutOrStdout(), list, time.Now())
		}
		if info, err := tg.client.Info(c.Context()); err == nil && len(info.Masters) > 0 {
			if err := writeMasters(c.OutOrStdout(), info.Masters); err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout())
		}
		return writeServers(c.OutOrStdout(), list, time.Now())
	})
}

// writeMasters prints the masters of master HA as `pomeloctl ls` does.
func writeMasters(w io.Writer, list []admin.MasterStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MASTER\tADDR\tROLE\tZOOKEEPER\tEPOCH")
	for _, m := range list {
		epoch := "-"
		if m.Epoch != 0 {
			epoch = strconv.FormatUint(m.Epoch, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Addr, m.Role, m.Session, epoch)
	}
	return tw.Flush()
}

func newPromoteCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "promote ID",
		Short: "Hand the lead to a standby master (master HA): at once, no server restarted",
		Long: "Ask the leading master to hand the lead to the standby master ID, which must be\n" +
			"standing by (in the election; pomeloctl ls lists the masters). The leader hands\n" +
			"over at once and stands by in its turn; the new leader adopts every running server.\n" + connHelp,
		Example: `  pomeloctl promote master-server-2`,
		Args:    exactArgs(1, "ID"),
	}
	return ctlCmd(g, cmd, func(c *cobra.Command, args []string, tg *target) error {
		if err := tg.client.Promote(c.Context(), args[0]); err != nil {
			return err
		}
		c.Printf("%s promoted: it leads once it has adopted the cluster\n", args[0])
		return nil
	})
}

// writeServers prints servers as `pomeloctl ls` does.
func writeServers(w io.Writer, list []admin.ServerStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tSTATE\tPID\tHOST\tPORT\tCLIENT\tUPTIME\tCPU\tRSS\tCONNS\tRESTARTS")
	var reasons []string
	for _, s := range list {
		pid, uptime, cpu, rss := "-", "-", "-", "-"
		if s.Pid != 0 {
			pid = strconv.Itoa(s.Pid)
			uptime = roughly(now.Sub(s.Started))
		}
		if s.RSS > 0 { // stats come with the first heartbeat
			cpu = fmt.Sprintf("%.1f%%", s.CPU)
			rss = bytesIEC(s.RSS)
		}
		state := s.State
		if s.Draining && state == "running" {
			state = "draining" // out of the gates' rotation, its players on
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", s.ID, s.Type, state, pid, s.Host,
			portOrDash(s.Port), portOrDash(s.ClientPort), uptime, cpu, rss, s.Connections, s.Restarts)
		if s.Reason != "" {
			reasons = append(reasons, s.ID+": "+s.Reason)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range reasons {
		fmt.Fprintln(w, r)
	}
	return nil
}

func portOrDash(p int) string {
	if p == 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

// roughly writes an uptime as ps does: 4s, 3m12s, 5h03m, 2d04h.
func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

func bytesIEC(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%dK", n>>10)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newKillCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kill ID",
		Short: "Kill a server's process group with SIGKILL",
		Long:  "Kill a server's process group outright (SIGKILL). The supervisor does not restart\na server an operator killed.\n" + connHelp,
		Args:  exactArgs(1, "ID"),
	}
	return ctlCmd(g, cmd, func(c *cobra.Command, args []string, tg *target) error {
		if err := tg.client.Kill(c.Context(), args[0]); err != nil {
			return err
		}
		c.Printf("%s killed\n", args[0])
		return nil
	})
}

func newStopCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stop [ID...]",
		Short: "Stop servers gracefully (every server when none is named)",
		Long: `Stop servers gracefully: beforeStop hooks, frontends stop accepting and drain,
components stop in reverse order. A server that has not stopped after 15s is killed.
With no ID every server stops and the master stays up (pomeloctl down stops it too).
` + connHelp,
	}
	return ctlCmd(g, cmd, func(c *cobra.Command, args []string, tg *target) error {
		if err := tg.client.Stop(c.Context(), args...); err != nil {
			return err
		}
		what := strings.Join(args, ", ")
		if what == "" {
			what = "every server"
		}
		c.Printf("%s stopped\n", what)
		return nil
	})
}

func newRestartCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restart ID",
		Short: "Stop a server gracefully and start it again; returns once it runs",
		Long:  "Stop a server gracefully (if it runs) and start it again. Returns once it has\nregistered with the master, or says why it did not.\n" + connHelp,
		Args:  exactArgs(1, "ID"),
	}
	return ctlCmd(g, cmd, func(c *cobra.Command, args []string, tg *target) error {
		if err := tg.client.Restart(c.Context(), args[0]); err != nil {
			return err
		}
		c.Printf("%s restarted\n", args[0])
		return nil
	})
}

func newAddCmd(g *globals) *cobra.Command {
	var (
		req    admin.AddRequest
		output string
	)
	cmd := &cobra.Command{
		Use:   "add --type TYPE [--id ID] [--host HOST] [--port N] [--client-port N]",
		Short: "Start a new server of a declared type at runtime",
		Long: `Start a new server of a type the topology declares. What is left out is chosen:
the id <type>-server-<n>, the type's host, and ports past the type's highest. Ports
are checked against the cluster and against other programs on the host. Returns
once the server runs. The server lasts until pomeloctl down; it is not written
into the topology file.
` + connHelp,
		Example: `  pomeloctl add --type chat
  pomeloctl add --type connector --id connector-server-9 --port 4059 --client-port 3059`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&req.Type, "type", "", "the server type (required)")
	f.StringVar(&req.ID, "id", "", "the server's id")
	f.StringVar(&req.Host, "host", "", "the server's host")
	f.IntVar(&req.Port, "port", 0, "its RPC port")
	f.IntVar(&req.ClientPort, "client-port", 0, "its client port (frontends)")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	return ctlCmd(g, cmd, func(c *cobra.Command, _ []string, tg *target) error {
		if req.Type == "" {
			return usageError{c, errors.New("name the server type with --type")}
		}
		if err := checkOutput(output, "table", "json"); err != nil {
			return usageError{c, err}
		}
		st, err := tg.client.Add(c.Context(), req)
		if err != nil {
			return err
		}
		if output == "json" {
			return writeJSON(c.OutOrStdout(), st)
		}
		return writeServers(c.OutOrStdout(), []admin.ServerStatus{st}, time.Now())
	})
}

func newLogsCmd(g *globals) *cobra.Command {
	var (
		follow bool
		lines  int
		output string
	)
	cmd := &cobra.Command{
		Use:   "logs ID [-f] [-n N]",
		Short: "Print a server's log (ID master for the master's), and follow it with -f",
		Long:  "Print the last lines of a server's log, read from the run directory by the master.\nWith -f, keep printing what the server writes until Ctrl-C.\n" + connHelp,
		Example: `  pomeloctl logs connector-server-1 -n 100
  pomeloctl logs chat-server-2 -f`,
		Args: exactArgs(1, "ID"),
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().IntVarP(&lines, "lines", "n", 20, "how many of the last lines to print first")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text, or json: one object per read ({id, path, data, next}), a line each")
	return ctlCmd(g, cmd, func(c *cobra.Command, args []string, tg *target) error {
		if err := checkOutput(output, "text", "json"); err != nil {
			return usageError{c, err}
		}
		ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		show := func(chunk admin.LogChunk) error {
			if output == "json" {
				return json.NewEncoder(c.OutOrStdout()).Encode(chunk)
			}
			_, err := io.WriteString(c.OutOrStdout(), chunk.Data)
			return err
		}
		chunk, err := tg.client.Logs(ctx, admin.LogRequest{ID: args[0], Offset: -1, Tail: max(lines, 1)})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if lines > 0 {
			if err := show(chunk); err != nil {
				return err
			}
		}
		if !follow {
			return nil
		}
		// The master streams what the server writes from there on.
		err = tg.client.FollowLogs(ctx, args[0], chunk.Next, 0, show)
		if ctx.Err() != nil {
			return nil
		}
		return err
	})
}

func newDownCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the whole cluster: every server (frontends first), then the master",
		Long: `Stop the whole cluster gracefully: frontends first, then backends, then the
master. Returns once every process is gone. If the master itself is gone (killed),
down stops the servers it left, from the run directory's records.
` + connHelp,
		Args: cobra.NoArgs,
	}
	return ctlCmd(g, cmd, func(c *cobra.Command, _ []string, tg *target) error { return downCluster(c, tg) })
}

// downCluster stops tg's cluster, whoever's it is: through its leading
// master, or from the run directory's records when the master is dead;
// then its managed helpers.
func downCluster(c *cobra.Command, tg *target) error {
	// Managed helpers (ZooKeeper, Redis) go last, once the masters
	// have left.
	defer stopHelpers(tg.runDir)
	if h := tg.ha; h != nil && !managedZookeeperGone(h, tg.runDir) {
		// Marked down before anything stops, whoever stops it: no
		// standby then takes over to start it again, and each leaves.
		if err := ha.MarkDownAt(c.Context(), h.Zookeeper, h.Path, h.Auth.Value); err != nil {
			// What runs is stopped all the same; a standby that can
			// reach ZooKeeper later could start it again.
			c.PrintErrf("warning: could not mark the cluster down in ZooKeeper (%v): a standby master may start it again when it can reach ZooKeeper\n", err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			ha.WaitElectionEmpty(ctx, h.Zookeeper, h.Path, h.Auth.Value)
		}()
	}
	if tg.runDir != "" && !tg.elsewhere {
		if rec, err := tg.runDir.Master(); err == nil && !rec.Alive() {
			// The run directory's master is dead: whatever answers on
			// its address now is another process, perhaps another
			// cluster's master, which must not be sent down.
			return downWithoutMaster(c, tg.runDir)
		}
	}
	info, err := tg.client.Info(c.Context())
	if err != nil {
		if tg.reached(err) != err && tg.runDir != "" {
			return downWithoutMaster(c, tg.runDir)
		}
		return err
	}
	// A leader ZooKeeper named for this cluster's ha.path keeps its
	// run directory on its own host.
	if mine, _ := filepath.Abs(string(tg.runDir)); tg.runDir != "" && !tg.elsewhere && info.RunDir != "" && filepath.Clean(info.RunDir) != mine {
		return fmt.Errorf("the master on %s runs another cluster (topology %s, run directory %s), not the one whose run directory is %s: nothing was sent; to stop that cluster, name its run directory with --run-dir",
			tg.addr, info.Topology, info.RunDir, mine)
	}
	if err := tg.client.Down(c.Context()); err != nil {
		return err
	}
	waitMasterGone(c.Context(), tg.client)
	c.Printf("cluster down (master %s, pid %d)\n", info.ID, info.Pid)
	return nil
}

// waitMasterGone waits (at most 10s) for a master that has answered down
// to go: its event stream ends once it has cleared its record, just
// before it stops answering.
func waitMasterGone(ctx context.Context, cl *admin.Client) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _ = cl.Events(ctx, "", func(admin.Event) error { return nil })
}

// downWithoutMaster stops the servers a dead master left, from their
// records: SIGTERM, then SIGKILL to the group of any still there after the
// stop timeout.
func downWithoutMaster(c *cobra.Command, dir master.RunDir) error {
	n, err := master.StopOrphans(c.Context(), dir, master.DefaultStopTimeout)
	if err != nil {
		return err
	}
	if n == 0 {
		c.Printf("the cluster is not running (run directory %s): nothing to stop\n", dir)
		return nil
	}
	c.Printf("cluster down: the master was gone; stopped the %s it left (run directory %s)\n", plural(n, "server"), dir)
	return nil
}
