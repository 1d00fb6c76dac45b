package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/tui"
)

func newTuiCmd(g *globals) *cobra.Command {
	var readOnly bool
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Watch a running cluster and steer it in a terminal UI",
		Long: `Watch a running cluster in a terminal UI: its masters and servers in a table
that follows the master's event stream, a detail view (config, recent changes,
sparklines, the log's tail), logs, and the verbs of the CLI behind keys: ctrl-k
kills (after y), r restarts, s stops, a adds a server, P promotes a standby (after
y), : takes a command. ? lists every key. With master HA it follows the leader
through a failover. --readonly, or an admin user of level 2, takes no action.
docs/tui.md shows it.
` + connHelp,
		Args: cobra.NoArgs,
	}
	cmd.Flags().BoolVar(&readOnly, "readonly", false, "watch only: every action is refused")
	return ctlCmd(g, cmd, func(c *cobra.Command, _ []string, tg *target) error {
		if !isTerminal(c.OutOrStdout()) {
			return errors.New("tui needs a terminal on its standard output: use pomeloctl ls (or -o json) in scripts")
		}
		// The first answer before the screen is taken: a cluster that is
		// not there is said plainly, and exits 3 as the other commands do.
		if _, err := tg.client.Info(c.Context()); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return tui.Run(ctx, tui.Config{ReadOnly: readOnly, Color: true, Connect: connectTo(tg)}, c.InOrStdin(), c.OutOrStdout())
	})
}

// connectTo finds the leading master again each time the UI asks: the
// first answer from Info says it is there.
func connectTo(tg *target) func(context.Context) (tui.Client, string, error) {
	return func(ctx context.Context) (tui.Client, string, error) {
		cl, addr := tg.leader(ctx)
		if _, err := cl.Info(ctx); err != nil {
			return nil, addr, err
		}
		return cl, addr, nil
	}
}
