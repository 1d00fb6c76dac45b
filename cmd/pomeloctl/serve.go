package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine"
	"github.com/pomeloctl/pomeloctl/engine/launch"
	"github.com/pomeloctl/pomeloctl/profiles"
)

func newServeCmd(g *globals) *cobra.Command {
	var (
		id        string
		overlays  []string
		stdinPath string
	)
	cmd := &cobra.Command{
		Use:   "serve TOPOLOGY --id ID",
		Short: "Run one server of a topology in this process",
		Long: `Run one server of a topology in this process, until SIGINT or SIGTERM stops it
gracefully. This is what the master runs for each server; run it by hand to try a
server on its own.

Under a master (pomeloctl up) the server registers over the monitor link at
$POMELOCTL_MASTER with the token in $POMELOCTL_TOKEN; a server added at runtime
is described by $POMELOCTL_ADD. Without $POMELOCTL_MASTER it runs alone.

TOPOLOGY - reads the topology from standard input, standing for the file named by
--stdin-path: this is how the master hands a server on another host the resolved
topology over ssh.`,
		Example: `  pomeloctl serve examples/chat/topology.yaml --id gate-server-1`,
		Args:    exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			spec := launch.Spec{Topology: args[0], StdinPath: stdinPath, ID: id, Profiles: overlays}
			if c.Flags().Changed("port-offset") {
				spec.PortOffset = &g.portOffset
			}
			if err := spec.Check(); err != nil {
				return usageError{c, err}
			}
			t, err := reported(c)(spec.Load(c.InOrStdin(), profiles.FS))
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// pomeloctl has no game code: frontends, the gate and
			// forwarding run; backends answer that they have no handler.
			return engine.Serve(ctx, t, spec.ID, nil, c.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the id of the server to run")
	cmd.Flags().StringSliceVarP(&overlays, "profile", "p", nil, "merge profiles/NAME.yaml (or a path) over the topology; repeat to stack")
	cmd.Flags().StringVar(&stdinPath, "stdin-path", "", "with TOPOLOGY -, the path of the file the topology on stdin stands for")
	return cmd
}
