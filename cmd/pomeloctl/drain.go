package main

import (
	"strings"

	"github.com/spf13/cobra"
)

func newDrainCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drain ID...",
		Short: "Take frontends out of the gates' rotation; their players play on",
		Long: `Drain frontends: the gates hand them out no more, and their readiness
endpoint (/ready on their httpPort) answers 503, so that a load balancer in front
of them sends new connections elsewhere; the players already on them play on. A
drained frontend stays drained across its restarts until undrain: what a rollout
does to a group before it replaces it, and what seed 003 does by hand with its
cloud load balancer. ls shows DRAINING.
` + connHelp,
		Example: `  pomeloctl drain connector-server-1 connector-server-2
  pomeloctl ls -o json | jq '.[] | select(.draining) | {id, connections}'
  pomeloctl undrain connector-server-1 connector-server-2`,
		Args: minArgs(1, "ID"),
	}
	return ctlCmd(g, cmd, func(c *cobra.Command, args []string, tg *target) error {
		if err := tg.client.Drain(c.Context(), args...); err != nil {
			return err
		}
		c.Printf("%s draining\n", strings.Join(args, ", "))
		return nil
	})
}

func newUndrainCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "undrain ID...",
		Short: "Put drained frontends back into the gates' rotation",
		Long: `Undrain frontends: the gates hand them out again and their readiness endpoint
answers 200 once they run.
` + connHelp,
		Args: minArgs(1, "ID"),
	}
	return ctlCmd(g, cmd, func(c *cobra.Command, args []string, tg *target) error {
		if err := tg.client.Undrain(c.Context(), args...); err != nil {
			return err
		}
		c.Printf("%s back in rotation\n", strings.Join(args, ", "))
		return nil
	})
}
