package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine"
	"github.com/pomeloctl/pomeloctl/topology"
)

func newServeCmd(g *globals) *cobra.Command {
	var (
		id        string
		profiles  []string
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
			if id == "" {
				return usageError{c, errors.New("name the server to run with --id")}
			}
			var t *topology.Topology
			var err error
			if args[0] == "-" {
				if stdinPath == "" {
					return usageError{c, errors.New("with TOPOLOGY -, name the file it stands for with --stdin-path")}
				}
				t, err = loadStdin(c, g, stdinPath, c.InOrStdin())
			} else {
				t, err = loadTopology(c, g, args[0], profiles)
			}
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// pomeloctl has no game code: frontends, the gate and
			// forwarding run; backends answer that they have no handler.
			return engine.Serve(ctx, t, id, nil, c.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the id of the server to run")
	cmd.Flags().StringSliceVarP(&profiles, "profile", "p", nil, "merge profiles/NAME.yaml (or a path) over the topology; repeat to stack")
	cmd.Flags().StringVar(&stdinPath, "stdin-path", "", "with TOPOLOGY -, the path of the file the topology on stdin stands for")
	return cmd
}

// loadStdin loads a topology read from r as if it were the file at path.
func loadStdin(c *cobra.Command, g *globals, path string, r io.Reader) (*topology.Topology, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the topology from stdin: %w", err)
	}
	return reported(c)(topology.LoadBytes(path, data, g.loadOptions(c, nil)))
}
