package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/bench"
)

// The benchmarks that play the chat demo against a running cluster: connect,
// fanout, and idle with --cluster. They find the gate, and the servers whose
// memory they read, by asking the cluster's master, unless told.

// benchCluster is how a cluster benchmark finds the running cluster.
type benchCluster struct {
	conn
	gate string
}

func (b *benchCluster) flags(cmd *cobra.Command) {
	b.conn.flags(cmd)
	cmd.Flags().StringVar(&b.gate, "gate", "", "the gate's client address host:port (default: asked of the cluster's master)")
}

// servers asks the master for the cluster's running servers.
func (b *benchCluster) servers(c *cobra.Command) ([]admin.ServerStatus, error) {
	tg, err := b.resolve(c)
	if err != nil {
		return nil, err
	}
	list, err := tg.client.Servers(c.Context())
	if err != nil {
		return nil, tg.reached(err)
	}
	running := list[:0]
	for _, s := range list {
		if s.State == "running" && s.Pid > 0 {
			running = append(running, s)
		}
	}
	return running, nil
}

// gateAddr is --gate, or the running gate's client address as the master
// lists it.
func (b *benchCluster) gateAddr(c *cobra.Command, list []admin.ServerStatus) (string, error) {
	if b.gate != "" {
		return b.gate, nil
	}
	if list == nil {
		var err error
		if list, err = b.servers(c); err != nil {
			return "", fmt.Errorf("no --gate given, and the master could not name one: %w", err)
		}
	}
	return findGate(list)
}

// findGate picks the gate: a server of type gate, else the one frontend with
// a client port and no RPC port (a gate only dials).
func findGate(list []admin.ServerStatus) (string, error) {
	var found []admin.ServerStatus
	for _, s := range list {
		if s.Type == "gate" && s.ClientPort > 0 {
			found = append(found, s)
		}
	}
	if len(found) == 0 {
		for _, s := range list {
			if s.ClientPort > 0 && s.Port == 0 {
				found = append(found, s)
			}
		}
	}
	if len(found) == 0 {
		return "", errors.New("the cluster has no running gate (a server of type gate, or a frontend with only a clientPort); name one with --gate")
	}
	host := found[0].Host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(found[0].ClientPort)), nil
}

const clusterBenchHelp = `
Without --gate, the gate's address is asked of the running cluster's master,
found as the control commands find it (--topology, --master, $POMELOCTL_*, or
./topology.yaml).`

func newBenchConnectCmd(g *globals) *cobra.Command {
	cfg := bench.ConnectConfig{}
	b := &benchCluster{conn: conn{g: g}}
	var baseline bool
	var output string
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Logins per second, as chatofpomelo's client logs in: gate, handshake, enter",
		Long: `Log players in as chatofpomelo's client does, --concurrency at a time: the
gate's queryEntry, a handshake with the connector it names, and the enter request
into a room of --room-size; then close them all. Measures logins per second and the
latency of one login. Run it against the chat demo (pomeloctl up
examples/chat/topology.yaml). --baseline then opens the same connections, with
the same round trips, to a bare WebSocket echo in a process of its own: what this
machine's network stack allows.
` + clusterBenchHelp,
		Example: `  pomeloctl bench connect -t examples/chat/topology.yaml --clients 5000 --concurrency 100
  pomeloctl bench connect --gate 127.0.0.1:3014 -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop, progress, err := benchStart(c, output)
			if err != nil {
				return err
			}
			defer stop()
			if cfg.Gate, err = b.gateAddr(c, nil); err != nil {
				return err
			}
			cfg.Progress = progress
			res, err := bench.Connect(ctx, cfg)
			if err != nil {
				return err
			}
			results := []*bench.ConnectResult{res}
			if baseline {
				addr, stopBare, err := startBareEcho(ctx, true)
				if err != nil {
					return err
				}
				defer stopBare()
				bres, err := bench.BareConnect(ctx, addr, cfg)
				if err != nil {
					return err
				}
				results = append(results, bres)
			}
			if output == "json" {
				return writeJSON(c.OutOrStdout(), results)
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "RUN\tCLIENTS\tCONCURRENCY\tLOGGED IN\tLOGINS/S\tP50\tP90\tP99\tMAX\tERRORS\t")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", r.Name, r.Clients, r.Concurrency, r.LoggedIn, r.PerSecond,
					round(r.Latency.P50), round(r.Latency.P90), round(r.Latency.P99), round(r.Latency.Max), r.Errors)
			}
			if len(results) == 2 && results[1].PerSecond > 0 {
				fmt.Fprintf(tw, "\nratio to the bare connections: %.2f\n", results[0].PerSecond/results[1].PerSecond)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, r := range results {
				if r.FirstErr != "" {
					c.PrintErrf("%s: first error: %s\n", r.Name, r.FirstErr)
				}
			}
			return nil
		},
	}
	b.flags(cmd)
	f := cmd.Flags()
	f.BoolVar(&cfg.TCP, "tcp", false, "connect over raw TCP instead of WebSocket")
	f.IntVar(&cfg.Clients, "clients", 1000, "players to log in")
	f.IntVar(&cfg.Concurrency, "concurrency", 50, "logins in progress at once")
	f.IntVar(&cfg.RoomSize, "room-size", 20, "players per room")
	f.BoolVar(&baseline, "baseline", false, "also open the same connections to a bare gorilla/websocket echo, as the ceiling")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func newBenchFanoutCmd(g *globals) *cobra.Command {
	cfg := bench.FanoutConfig{}
	b := &benchCluster{conn: conn{g: g}}
	var output string
	cmd := &cobra.Command{
		Use:   "fanout",
		Short: "Chat fan-out: pushes per second and delivery latency in rooms",
		Long: `Log --users players into the chat demo, in rooms of --room-size (default: one
room of everyone), then have each send --rate messages a second to its whole room
(chat.chatHandler.send, target "*") for --duration. Every message is pushed to
every member of its room as onChat, the sender included: 300 users in one room at
1 message a second offer 90,000 pushes a second.

Each message carries its send time, so every push's delivery latency is measured,
decoded from pomelo-protobuf when the server sends onChat that way. Pushes that
have not arrived --drain after the last send are counted as lost.
` + clusterBenchHelp,
		Example: `  pomeloctl bench fanout -t examples/chat/topology.yaml --users 300 --rate 1 --duration 10s
  pomeloctl bench fanout --gate 127.0.0.1:3014 --users 1000 --room-size 50 -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop, progress, err := benchStart(c, output)
			if err != nil {
				return err
			}
			defer stop()
			if cfg.Users <= 0 || cfg.Rate <= 0 || cfg.RoomSize < 0 {
				return usageError{c, errors.New("--users and --rate must be above 0, and --room-size at least 0")}
			}
			if cfg.Gate, err = b.gateAddr(c, nil); err != nil {
				return err
			}
			cfg.Progress = progress
			res, err := bench.Fanout(ctx, cfg)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(c.OutOrStdout(), res)
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "USERS\tROOM\tRATE\tSENT\tOFFERED/S\tDELIVERED/S\tLOST\tP50\tP90\tP99\tMAX\tSEND ERRORS\t")
			fmt.Fprintf(tw, "%d\t%d\t%g/s\t%d\t%.0f\t%.0f\t%d\t%s\t%s\t%s\t%s\t%d\t\n", res.Users, res.RoomSize, res.Rate, res.Sent,
				res.Offered, res.PerSecond, res.Expected-res.Delivered,
				round(res.Latency.P50), round(res.Latency.P90), round(res.Latency.P99), round(res.Latency.Max), res.SendErrors)
			if err := tw.Flush(); err != nil {
				return err
			}
			if res.FirstErr != "" {
				c.PrintErrf("first error: %s\n", res.FirstErr)
			}
			return nil
		},
	}
	b.flags(cmd)
	f := cmd.Flags()
	f.BoolVar(&cfg.Options.TCP, "tcp", false, "connect over raw TCP instead of WebSocket")
	f.IntVar(&cfg.Users, "users", 300, "players")
	f.IntVar(&cfg.RoomSize, "room-size", 0, "players per room (default: all in one room)")
	f.Float64Var(&cfg.Rate, "rate", 1, "messages a second from each player")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send")
	f.DurationVar(&cfg.Drain, "drain", 2*time.Second, "how long to wait for pushes after the last send")
	f.IntVar(&cfg.Concurrency, "concurrency", 50, "logins in progress at once")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}
