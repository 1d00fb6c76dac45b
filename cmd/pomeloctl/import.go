package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/topology"
	"github.com/pomeloctl/pomeloctl/topology/pomelo"
)

func newImportCmd(g *globals) *cobra.Command {
	var (
		env   string
		out   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "import PATH...",
		Short: "Turn a Pomelo project's config into a topology",
		Long: `Turn a Pomelo project's JSON config into a pomeloctl topology.

PATH is a Pomelo config folder (game-server/config, in the env-keyed layout or as
config/<env>/*.json) or any of its files: servers.json (required), master.json,
masterha.json, adminUser.json, adminServer.json, dictionary.json,
serverProtos.json, clientProtos.json.

Everything that is changed or dropped on the way is a warning naming the source
file and line. The result is then validated as 'pomeloctl validate' would.

Exit status: 0 imported and valid, 2 imported but invalid here (the file is still
written), 1 could not import (a JSON error is reported with line and column).`,
		Example: `  pomeloctl import game-server/config -o topology.yaml
  pomeloctl import servers.json master.json --env production`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{c, errors.New("name a Pomelo config folder or its JSON files")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if out != "" && !force {
				if _, err := os.Stat(out); err == nil {
					return fmt.Errorf("%s exists; pass --force to overwrite it", out)
				}
			}
			res, err := pomelo.Import(args, pomelo.Options{Env: env, Out: out})
			if err != nil {
				var list topology.ErrorList
				var one *topology.Error
				if errors.As(err, &list) || errors.As(err, &one) {
					fmt.Fprintln(c.ErrOrStderr(), err)
					return errReported
				}
				return err
			}
			printWarnings(c.ErrOrStderr(), res.Warnings)
			name := out
			if out == "" {
				name = "imported-topology.yaml"
				if _, err := c.OutOrStdout().Write(res.YAML); err != nil {
					return err
				}
			} else if err := os.WriteFile(out, res.YAML, 0o644); err != nil {
				return fmt.Errorf("write topology: %w", err)
			}
			_, warnings, err := topology.LoadBytes(name, res.YAML, g.loadOptions(c, nil))
			printWarnings(c.ErrOrStderr(), warnings)
			if err != nil {
				fmt.Fprintln(c.ErrOrStderr(), "the imported topology does not validate on this machine:")
				fmt.Fprintln(c.ErrOrStderr(), err)
				return err
			}
			if out != "" {
				fmt.Fprintf(c.ErrOrStderr(), "wrote %s (%s)\n", out, plural(len(res.Warnings), "warning"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&env, "env", "development", "the Pomelo environment to import")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the topology to FILE instead of standard output")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite the output file")
	return cmd
}
