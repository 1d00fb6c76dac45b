package main

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/topology"
)

func newServeCmd(g *globals) *cobra.Command {
	var (
		id       string
		profiles []string
	)
	cmd := &cobra.Command{
		Use:   "serve TOPOLOGY --id ID",
		Short: "Run one server of a topology in this process",
		Long: `Run one server of a topology in this process, until SIGINT or SIGTERM stops it
gracefully. This is what the master runs for each server; run it by hand to try a
server on its own.

For now frontends run (their clients' protocol, the gate's queryEntry); backends
need server-to-server RPC, which is not built yet, and are refused.`,
		Example: `  pomeloctl serve examples/chat/topology.yaml --id gate-server-1`,
		Args:    exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			if id == "" {
				return usageError{c, errors.New("name the server to run with --id")}
			}
			t, warnings, err := topology.Load(args[0], g.loadOptions(c, profiles))
			printWarnings(c.ErrOrStderr(), warnings)
			if err != nil {
				var list topology.ErrorList
				if errors.As(err, &list) {
					c.PrintErrln(list.Error())
				}
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, t, id, serverLogger(t, c.ErrOrStderr()), nil)
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the id of the server to run")
	cmd.Flags().StringSliceVarP(&profiles, "profile", "p", nil, "merge profiles/NAME.yaml (or a path) over the topology; repeat to stack")
	return cmd
}

// serverLogger logs as the topology's log section says.
func serverLogger(t *topology.Topology, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(t.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if t.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
