package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/profiles"
	"github.com/pomeloctl/pomeloctl/topology"
)

func newValidateCmd(g *globals) *cobra.Command {
	var (
		profiles []string
		print    bool
		output   string
	)
	cmd := &cobra.Command{
		Use:   "validate TOPOLOGY",
		Short: "Check a topology and report every problem with file:line:col",
		Long: `Check a topology as 'pomeloctl up' would read it: profiles merged, defaults
applied, clusters expanded, router expressions compiled, ports and CPUs checked,
and every server's plan built without starting it (its routers, its route
dictionary and protos), with what the runtime does not do yet: it reports what up
would refuse. Every problem is reported with its file, line and column, not only
the first.

Exit status: 0 valid, 2 invalid, 1 could not read the file or a profile.`,
		Example: `  pomeloctl validate examples/chat/topology.yaml
  pomeloctl validate topology.yaml --profile ci --print
  pomeloctl validate topology.yaml --print -o json`,
		Args: exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(output, "table", "yaml", "json"); err != nil {
				return usageError{c, err}
			}
			t, warnings, err := topology.Load(args[0], g.loadOptions(c, profiles))
			var list topology.ErrorList
			if err != nil && !errors.As(err, &list) {
				return err
			}
			if err == nil {
				// What up would refuse: every server's plan, and what the
				// runtime does not do yet.
				if err = server.Check(t, nil); err != nil && !errors.As(err, &list) {
					return err
				}
			}
			if output == "json" && !print {
				return writeReport(c.OutOrStdout(), warnings, list, err)
			}
			printWarnings(c.ErrOrStderr(), warnings)
			if err != nil {
				fmt.Fprintln(c.ErrOrStderr(), list.Error())
				fmt.Fprintf(c.ErrOrStderr(), "%s: %s\n", args[0], plural(len(list), "error"))
				return err
			}
			if !print {
				fmt.Fprintf(c.OutOrStdout(), "%s: valid: %s, %s\n", args[0], plural(len(t.Types), "server type"), plural(len(t.AllServers()), "server"))
				return nil
			}
			return writeTopology(c.OutOrStdout(), t, output)
		},
	}
	cmd.Flags().StringSliceVarP(&profiles, "profile", "p", nil, "merge profiles/NAME.yaml (or a path) over the topology; repeat to stack")
	cmd.Flags().BoolVar(&print, "print", false, "print the resolved topology with every server expanded")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "with --print: table, yaml or json; without: json gives a machine-readable report")
	return cmd
}

// loadOptions turns the shared flags into topology options.
func (g *globals) loadOptions(c *cobra.Command, profileNames []string) topology.Options {
	opts := topology.Options{Profiles: profileNames, BuiltinProfiles: profiles.FS, Machine: g.machine}
	if c.Flags().Changed("port-offset") {
		opts.PortOffset = &g.portOffset
	}
	return opts
}

func printWarnings(w io.Writer, warnings []topology.Warning) {
	for _, wr := range warnings {
		fmt.Fprintln(w, wr.String())
	}
}

// writeReport prints validation as JSON, for editors and scripts.
func writeReport(w io.Writer, warnings []topology.Warning, list topology.ErrorList, err error) error {
	type problem struct {
		topology.Pos
		Path    string `json:"path,omitempty"`
		Message string `json:"message"`
		Hint    string `json:"hint,omitempty"`
	}
	report := struct {
		Valid    bool      `json:"valid"`
		Errors   []problem `json:"errors"`
		Warnings []problem `json:"warnings"`
	}{Valid: err == nil, Errors: []problem{}, Warnings: []problem{}}
	for _, e := range list {
		report.Errors = append(report.Errors, problem{e.Pos, e.Path, e.Msg, e.Hint})
	}
	for _, wr := range warnings {
		report.Warnings = append(report.Warnings, problem{Pos: wr.Pos, Message: wr.Msg})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(report); encErr != nil {
		return encErr
	}
	return err
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{c, fmt.Errorf("want %s, got %d arguments", names, len(args))}
		}
		return nil
	}
}

func minArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{c, fmt.Errorf("want at least %d %s, got %d", n, names, len(args))}
		}
		return nil
	}
}

func checkOutput(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return fmt.Errorf("unknown output format %q (want one of %v)", got, allowed)
}
