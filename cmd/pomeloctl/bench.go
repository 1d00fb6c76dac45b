package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/bench"
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a frontend with clients that speak Pomelo's protocol",
		Long: `Load a frontend with clients that speak Pomelo's protocol, in bounded numbers
for a bounded time, with its progress on standard error (a bar on a terminal,
a line every few seconds elsewhere) and a table (or -o json) at the end.

echo and idle, without --addr, start what they measure themselves: an echo
frontend in this process (echo), or in a child process whose memory idle reads.
connect, fanout and idle --cluster play chatofpomelo's client against a running
chat demo (pomeloctl up examples/chat/topology.yaml).

Every figure counts every failure: a transport error, and a reply whose body
says it failed (a "code" other than 200 or 0, a string "code", or "error":
true) are failed requests, not successes; the first one's words are printed.`,
	}
	cmd.AddCommand(newBenchEchoCmd(), newBenchIdleCmd(g), newBenchConnectCmd(g), newBenchFanoutCmd(g), newBenchServeCmd())
	return cmd
}

func newBenchEchoCmd() *cobra.Command {
	cfg := bench.EchoConfig{}
	var baseline, withMetrics bool
	var rounds int
	var output string
	cmd := &cobra.Command{
		Use:   "echo",
		Short: "Requests/s and latency of an echo route",
		Example: `  pomeloctl bench echo --clients 100 --inflight 10 --duration 10s --baseline
  pomeloctl bench echo --clients 100 --inflight 10 --metrics
  pomeloctl bench echo --addr 127.0.0.1:3050 --route connector.entryHandler.echo -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			inProcess := cfg.Addr == ""
			if withMetrics && !inProcess {
				return usageError{c, fmt.Errorf("--metrics measures the echo frontend bench echo starts itself; leave out --addr %s", cfg.Addr)}
			}
			ctx, stop, progress, err := benchStart(c, output)
			if err != nil {
				return err
			}
			defer stop()
			cfg.Progress = progress
			var results []*bench.EchoResult
			var costs []bench.Cost
			switch {
			case withMetrics:
				if results, costs, err = bench.EchoMetered(ctx, cfg, rounds, quietLogger()); err != nil {
					return fmt.Errorf("bench echo --metrics: %w", err)
				}
				cfg.Route = bench.EchoRoute
			case inProcess:
				srv, err := bench.ServeEcho(ctx, "127.0.0.1:0", quietLogger(), nil)
				if err != nil {
					return err
				}
				defer srv.Close()
				cfg.Addr, cfg.Route = srv.Addr().String(), bench.EchoRoute
				fallthrough
			default:
				res, err := bench.Echo(ctx, cfg)
				if err != nil {
					return err
				}
				results = append(results, res)
			}
			if baseline {
				addr, stopBare, err := startBareEcho(ctx, !inProcess)
				if err != nil {
					return err
				}
				defer stopBare()
				bcfg := cfg
				bcfg.Addr, bcfg.Name, bcfg.TCP = addr, "bare websocket echo", false
				bres, err := bench.BareEcho(ctx, bcfg)
				if err != nil {
					return err
				}
				results = append(results, bres)
			}
			if err := writeEchoResults(c.OutOrStdout(), results, costs, output); err != nil {
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
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "", "the frontend's client address host:port (default: an echo frontend started here)")
	f.BoolVar(&cfg.TCP, "tcp", false, "connect over raw TCP instead of WebSocket")
	f.IntVar(&cfg.Clients, "clients", 10, "connections")
	f.IntVar(&cfg.InFlight, "inflight", 1, "requests outstanding on each connection")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to run")
	f.StringVar(&cfg.Route, "route", bench.EchoRoute, "the route to request")
	f.IntVar(&cfg.Size, "size", 16, "bytes of payload per request")
	f.BoolVar(&baseline, "baseline", false, "also measure a bare gorilla/websocket echo the same way, as the ceiling (in this process, or with --addr in a process of its own)")
	f.BoolVar(&withMetrics, "metrics", false, "run the echo twice, on a frontend without metrics then on one that counts them (its /metrics scraped every second), and print what they cost")
	f.IntVar(&rounds, "rounds", 1, "with --metrics, how many times to run the pair, taking turns to go first")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// benchStart checks -o, and returns the run's context (ended by Ctrl-C) and how
// its progress is shown: on standard error, whatever -o is, so that standard
// output holds only the table or the JSON.
func benchStart(c *cobra.Command, output string) (context.Context, context.CancelFunc, bench.Progress, error) {
	if err := checkOutput(output, "table", "json"); err != nil {
		return nil, nil, nil, usageError{c, err}
	}
	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt)
	return ctx, stop, benchProgress(c.ErrOrStderr()), nil
}

// benchProgress shows progress on w: a bar redrawn in place when w is a
// terminal; elsewhere (CI, a pipe, a file) plain lines, a few of them, which a
// log keeps readable where a carriage return or an escape code would not be.
func benchProgress(w io.Writer) bench.Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(f.Fd()) {
		width, _, err := term.GetSize(f.Fd())
		if err != nil || width <= 0 {
			width = 80
		}
		return newBarProgress(w, width, termenv.NewOutput(f).EnvColorProfile())
	}
	return &lineProgress{w: w}
}

// lineProgress writes a phase's figures every few seconds, and once at its
// end: each second when the phase is planned to last less than 10 s, so that
// a short run shows some, else every 5 s.
type lineProgress struct {
	w    io.Writer
	next time.Duration // the phase's time of its next line
}

func (l *lineProgress) Update(s bench.Status) {
	every := 5 * time.Second
	if s.Total > 0 && s.Total < 10*time.Second {
		every = time.Second
	}
	if l.next == 0 {
		l.next = every
	}
	if s.Elapsed < l.next {
		return
	}
	// Late samples must not push every later line back.
	l.next = s.Elapsed.Truncate(every) + every
	fmt.Fprintf(l.w, "%s: %s\n", s.Phase, progressFigures(s))
}

func (l *lineProgress) End(s bench.Status) {
	l.next = 0
	fmt.Fprintf(l.w, "%s: %s\n", s.Phase, progressEnd(s))
}

// barProgress redraws one line in place: the phase, a bar and its figures,
// cut to the terminal's width because a line that wrapped could not be
// redrawn with a carriage return.
type barProgress struct {
	w     io.Writer
	width int
	bar   progress.Model
}

func newBarProgress(w io.Writer, width int, profile termenv.Profile) *barProgress {
	return &barProgress{w: w, width: width, bar: progress.New(
		progress.WithSolidFill("12"), // the TUI's title colour
		progress.WithColorProfile(profile),
		progress.WithWidth(min(30, max(10, width/3))),
	)}
}

func (b *barProgress) Update(s bench.Status) {
	line := s.Phase + " " + b.bar.ViewAs(s.Fraction()) + "  " + progressFigures(s)
	fmt.Fprint(b.w, "\r"+ansi.Truncate(line, b.width-1, "…")+ansi.EraseLineRight)
}

// End clears the bar and leaves the phase's last figures as a plain line.
func (b *barProgress) End(s bench.Status) {
	fmt.Fprintf(b.w, "\r%s%s: %s\n", ansi.EraseLineRight, s.Phase, progressEnd(s))
}

// progressFigures are a running phase's figures: how far it is, and for what
// it counts, how many so far, their rate and the errors.
func progressFigures(s bench.Status) string {
	var b strings.Builder
	elapsed := fmt.Sprintf("%.1fs", s.Elapsed.Seconds())
	if s.Total > 0 {
		fmt.Fprintf(&b, "%s of %s", elapsed, s.Total)
	} else {
		fmt.Fprintf(&b, "%d of %d %s in %s", s.Done, s.Of, s.Unit, elapsed)
	}
	if s.Unit != "" {
		if s.Total > 0 {
			fmt.Fprintf(&b, ", %d %s", s.Done, s.Unit)
		}
		fmt.Fprintf(&b, ", %.0f %s/s, %d errors", s.Rate(), s.Unit, s.Errors)
	}
	return b.String()
}

// progressEnd is a finished phase's line.
func progressEnd(s bench.Status) string {
	if s.Unit == "" {
		return fmt.Sprintf("done in %.1fs", s.Elapsed.Seconds())
	}
	done := fmt.Sprintf("%d %s", s.Done, s.Unit)
	if s.Of > 0 {
		done = fmt.Sprintf("%d of %d %s", s.Done, s.Of, s.Unit)
	}
	return fmt.Sprintf("done in %.1fs: %s, %.0f %s/s, %d errors", s.Elapsed.Seconds(), done, s.Rate(), s.Unit, s.Errors)
}

// writeEchoResults prints echo runs, with --metrics each round's cost
// (costs; in JSON, then an object of runs and costs rather than a list of
// runs).
func writeEchoResults(w io.Writer, results []*bench.EchoResult, costs []bench.Cost, output string) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if costs != nil {
			return enc.Encode(struct {
				Runs        []*bench.EchoResult `json:"runs"`
				MetricsCost []bench.Cost        `json:"metricsCost"`
			}{results, costs})
		}
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RUN\tTRANSPORT\tCLIENTS\tIN FLIGHT\tREQ/S\tP50\tP90\tP99\tMAX\tERRORS\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", r.Name, r.Transport, r.Clients, r.InFlight, r.PerSecond,
			round(r.Latency.P50), round(r.Latency.P90), round(r.Latency.P99), round(r.Latency.Max), r.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(costs) > 0 {
		fmt.Fprintln(w)
		for _, f := range []struct {
			what string
			of   func(bench.Cost) float64
		}{{"requests/s", func(c bench.Cost) float64 { return c.Rate }}, {"CPU per request", func(c bench.Cost) float64 { return c.CPU }}} {
			var words []string
			var v []float64
			for _, c := range costs {
				v = append(v, f.of(c))
				words = append(words, fmt.Sprintf("%+.1f%%", f.of(c)))
			}
			slices.Sort(v)
			median := (v[(len(v)-1)/2] + v[len(v)/2]) / 2
			fmt.Fprintf(w, "metrics change %s by %+.1f%% (the median of %d rounds: %s)\n", f.what, median, len(costs), strings.Join(words, ", "))
		}
	}
	if bare := results[len(results)-1]; len(results) > 1 && bare.Name == "bare websocket echo" && bare.PerSecond > 0 {
		fmt.Fprintf(w, "\nratio to the bare echo: %.2f\n", results[0].PerSecond/bare.PerSecond)
	}
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

func newBenchIdleCmd(g *globals) *cobra.Command {
	cfg := bench.IdleConfig{}
	b := &benchCluster{conn: conn{g: g}}
	var cluster bool
	var output string
	cmd := &cobra.Command{
		Use:   "idle",
		Short: "Memory per idle connected client, as the change in the servers' PSS",
		Long: `Connect --clients clients that handshake and then only heartbeat, hold them,
and divide the change in the servers' summed PSS (proportional set size) by
their number.

By default the clients connect to an echo frontend started in a child process.
With --addr they connect to that frontend, and --pid names the processes to
measure. With --cluster (or --gate) they log in through the running cluster's
gate as chatofpomelo's clients do, spread over its connectors, and every server
the master lists is measured; --room-size has them enter rooms too.
` + clusterBenchHelp,
		Example: `  pomeloctl bench idle --clients 10000
  pomeloctl bench idle --cluster -t examples/chat/topology.yaml --clients 10000
  pomeloctl bench idle --addr 127.0.0.1:3050 --pid 4242 --clients 5000`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop, progress, err := benchStart(c, output)
			if err != nil {
				return err
			}
			defer stop()
			cfg.Progress = progress
			switch {
			case cfg.Addr != "":
			case cluster || b.gate != "":
				var list []admin.ServerStatus
				if b.gate == "" || len(cfg.Pids) == 0 {
					if list, err = b.servers(c); err != nil {
						return err
					}
				}
				if cfg.Gate, err = b.gateAddr(c, list); err != nil {
					return err
				}
				if len(cfg.Pids) == 0 {
					for _, s := range list {
						cfg.Pids = append(cfg.Pids, s.Pid)
					}
				}
			default:
				addr, pid, stopServer, err := startEchoProcess(ctx, false)
				if err != nil {
					return err
				}
				defer stopServer()
				cfg.Addr, cfg.Pids = addr, []int{pid}
			}
			res, err := bench.Idle(ctx, cfg)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(c.OutOrStdout(), res)
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "CLIENTS\tCONNECTED\tPROCESSES\tPSS BEFORE\tPSS AFTER\tPER CLIENT\tCONNECT TIME\t")
			fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f MiB\t%.1f MiB\t%.2f KiB\t%.1fs\t\n", res.Clients, res.Connected, res.Processes,
				float64(res.PSSBefore)/(1<<20), float64(res.PSSAfter)/(1<<20), res.PerClientKiB, res.DialSeconds)
			return tw.Flush()
		},
	}
	b.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", "", "a frontend's client address to connect to (default: an echo frontend in a child process)")
	f.IntSliceVar(&cfg.Pids, "pid", nil, "the process ids whose PSS is read (default: the echo frontend's, or with --cluster every server's)")
	f.BoolVar(&cluster, "cluster", false, "log in through the running cluster's gate and measure all its servers")
	f.IntVar(&cfg.RoomSize, "room-size", 0, "with --cluster: enter rooms of this size after the handshake (0: connect only)")
	f.BoolVar(&cfg.TCP, "tcp", false, "connect over raw TCP instead of WebSocket")
	f.IntVar(&cfg.Clients, "clients", 1000, "connections")
	f.DurationVar(&cfg.Hold, "hold", 3*time.Second, "how long to hold them before measuring")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	cmd.MarkFlagsMutuallyExclusive("addr", "cluster")
	cmd.MarkFlagsMutuallyExclusive("addr", "gate")
	return cmd
}

// startEchoProcess runs `pomeloctl bench serve` as a child and waits for its
// address: an echo frontend, or with bare a bare WebSocket echo.
func startEchoProcess(ctx context.Context, bare bool) (addr string, pid int, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	args := []string{"bench", "serve", "--addr", "127.0.0.1:0"}
	if bare {
		args = append(args, "--bare")
	}
	cmd := exec.CommandContext(ctx, self, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("start the echo frontend: %w", err)
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	line := make([]byte, 128)
	n, err := out.Read(line)
	if err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("the echo frontend did not say its address: %w", err)
	}
	return strings.TrimSpace(string(line[:n])), cmd.Process.Pid, stop, nil
}

func newBenchServeCmd() *cobra.Command {
	var addr string
	var bare bool
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "Run an echo frontend, or a bare WebSocket echo, for benchmarks (prints its address, runs until killed)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt)
			defer stop()
			if bare {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.OutOrStdout(), ln.Addr().String())
				return bench.ServeBareEcho(ctx, ln)
			}
			srv, err := bench.ServeEcho(ctx, addr, quietLogger(), nil)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), srv.Addr().String())
			<-ctx.Done()
			return srv.Close()
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "host:port to listen on")
	cmd.Flags().BoolVar(&bare, "bare", false, "serve a bare gorilla/websocket echo instead of a Pomelo frontend")
	return cmd
}

// startBareEcho starts the bare WebSocket echo a baseline measures: in this
// process when what it is compared with runs here too, else in a child
// process, as a cluster's servers are.
func startBareEcho(ctx context.Context, child bool) (addr string, stop func(), err error) {
	if child {
		addr, _, stop, err := startEchoProcess(ctx, true)
		return addr, stop, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	bctx, cancel := context.WithCancel(ctx)
	go func() { _ = bench.ServeBareEcho(bctx, ln) }()
	return ln.Addr().String(), cancel, nil
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
