package main

import (
	"os"

	"github.com/pomeloctl/pomeloctl/topology"
	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	portOffset int
	// machine tells this host's servers from other hosts': this machine,
	// or the one host $POMELOCTL_HOST names (see docs/testing.md).
	machine topology.Machine
}

// envHost makes this process stand for one host of a topology's alone,
// every other host reached over ssh: how the tests run masters and
// servers of several hosts on one machine.
const envHost = "POMELOCTL_HOST"

func machineFromEnv() topology.Machine {
	if h := os.Getenv(envHost); h != "" {
		return topology.MachineAs(h)
	}
	return topology.ThisMachine()
}

func newRootCmd() *cobra.Command {
	g := &globals{machine: machineFromEnv()}
	root := &cobra.Command{
		Use:   "pomeloctl",
		Short: "Run a Pomelo-style game-server cluster from one YAML topology",
		Long: `pomeloctl runs a game-server cluster in the spirit of NetEase Pomelo.

One YAML topology declares the whole cluster: the master, server types (gates,
connectors, backends), their instances and ports (with Pomelo's clusterCount and
"3150++" ranges), routers, filters and handlers. Existing Pomelo, Pitaya and nano
clients connect unchanged.

Start here:
  pomeloctl validate examples/chat/topology.yaml --print   check a topology, see every server
  pomeloctl up examples/chat/topology.yaml                 run it (Ctrl-C stops it)
  pomeloctl ls -t examples/chat/topology.yaml              list its servers from another terminal
  pomeloctl import game-server/config -o topology.yaml     turn a Pomelo project's config into one

Documentation: docs/topology.md (every key, its default, an example).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().IntVar(&g.portOffset, "port-offset", 0, "shift every port of the topology by N (overrides its portOffset), to run clusters side by side")
	root.AddCommand(
		newValidateCmd(g),
		newImportCmd(g),
		newVersionCmd(),
		newBenchCmd(g),
		newServeCmd(g),
		newUpCmd(g),
		newMasterCmd(g),
		newLsCmd(g),
		newKillCmd(g),
		newPromoteCmd(g),
		newHelperCmd(g, helperKinds()[0]),
		newHelperCmd(g, helperKinds()[1]),
		newHelperCmd(g, helperKinds()[2]),
		newWebFilesCmd(),
		newStopCmd(g),
		newRestartCmd(g),
		newDrainCmd(g),
		newUndrainCmd(g),
		newAddCmd(g),
		newLogsCmd(g),
		newTuiCmd(g),
		newDownCmd(g),
		newSmokeCmd(g),
		newDiffCmd(g),
		newRolloutCmd(g),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{c, err}
	})
	return root
}

// usageError is a bad flag or argument: say what, and where to read more.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (u usageError) Error() string {
	return u.err.Error() + "\nrun '" + u.cmd.CommandPath() + " --help' for usage"
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print pomeloctl's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			c.Println("pomeloctl", version)
			return nil
		},
	}
}
