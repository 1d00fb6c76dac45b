package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Changes `pomeloctl diff` names, as a rollout would carry them out.
const (
	changeAdd       = "add"
	changeRemove    = "remove"
	changeRestart   = "restart"
	changeUnchanged = "unchanged"
)

// serverChange is one server's line of a diff.
type serverChange struct {
	ID     string   `json:"id"`
	Type   string   `json:"type"`
	Group  string   `json:"group,omitempty"`
	Change string   `json:"change"`
	Why    []string `json:"why,omitempty"`
	// Program is its program's version running now and in the topology
	// ("" when it is not known).
	Program    string `json:"program,omitempty"`
	NewProgram string `json:"newProgram,omitempty"`
	// newConfig is the digest of its configuration in the topology: what
	// a rollout checks it runs once replaced.
	newConfig string
}

type diffReport struct {
	Topology string         `json:"topology"`
	Servers  []serverChange `json:"servers"`
	Counts   map[string]int `json:"counts"`
}

func newDiffCmd(g *globals) *cobra.Command {
	var output string
	cn := &conn{g: g}
	cmd := &cobra.Command{
		Use:   "diff TOPOLOGY [-p PROFILE] [-o table|json]",
		Short: "Show what a changed topology or program would change in the running cluster",
		Long: `Compare a topology (and the programs it runs, as they are on disk now) with
the running cluster, server by server: servers it would add, servers it would
remove, and servers it would restart, with why — their program was rebuilt, or a
part of their resolved configuration changed (a key of their instance or type,
or a cluster-wide section they read: filters, hooks, protos, ...). Servers whose
program and configuration are the same are left running by a rollout.

A server's group (for rollouts by group) is shown but is not a reason to restart
it. The running cluster is the one TOPOLOGY names (its master and credentials),
unless --topology or --master names another.
` + connHelp,
		Example: `  pomeloctl diff examples/chat/topology.yaml
  go build -o chat . && pomeloctl diff topology.yaml -p prod -o json`,
		Args: exactArgs(1, "TOPOLOGY"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return usageError{c, err}
			}
			_, _, r, err := diffRunning(c, g, cn, args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(c.OutOrStdout(), r)
			}
			return writeDiff(c.OutOrStdout(), r)
		},
	}
	cn.flags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// diffRunning loads the topology at path and compares it with the cluster
// cn names (the one path names, unless cn says another).
func diffRunning(c *cobra.Command, g *globals, cn *conn, path string) (*topology.Topology, *target, diffReport, error) {
	t, err := loadTopology(c, g, path, cn.profiles)
	if err != nil {
		return nil, nil, diffReport{}, err
	}
	if cn.topology == "" {
		cn.topology = path
	}
	tg, err := cn.resolve(c)
	if err != nil {
		return nil, nil, diffReport{}, err
	}
	running, err := tg.client.Servers(c.Context())
	if err != nil {
		return nil, nil, diffReport{}, tg.reached(err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, diffReport{}, err
	}
	return t, tg, diffCluster(t, running, exe), nil
}

// diffCluster compares topology t, and the programs it names as they are
// now (exe for servers with no command: pomeloctl serve), with the running
// servers.
func diffCluster(t *topology.Topology, running []admin.ServerStatus, exe string) diffReport {
	r := diffReport{Topology: t.File, Counts: map[string]int{changeAdd: 0, changeRemove: 0, changeRestart: 0, changeUnchanged: 0}}
	byID := map[string]admin.ServerStatus{}
	for _, s := range running {
		byID[s.ID] = s
	}
	// Servers of a type run one program: read each once.
	versions := map[string]string{}
	for _, s := range t.AllServers() {
		fp := t.Fingerprint(s)
		ch := serverChange{ID: s.ID, Type: s.Type, Group: s.Group, newConfig: fp.Digest}
		if path := master.ProgramPath(t, s, exe); path != "" {
			v, ok := versions[path]
			if !ok {
				v, _ = proc.ProgramVersion(path)
				versions[path] = v
			}
			ch.NewProgram = v
		}
		old, ok := byID[s.ID]
		switch {
		case !ok:
			ch.Change = changeAdd
		default:
			ch.Program = old.Program
			ch.Why = whyRestart(s, fp, old, ch.NewProgram)
			ch.Change = changeUnchanged
			if len(ch.Why) > 0 {
				ch.Change = changeRestart
			}
		}
		r.Servers = append(r.Servers, ch)
	}
	for _, s := range running {
		if t.Server(s.ID) == nil {
			r.Servers = append(r.Servers, serverChange{ID: s.ID, Type: s.Type, Group: s.Group, Change: changeRemove, Why: []string{"not in the topology"}, Program: s.Program})
		}
	}
	for _, s := range r.Servers {
		r.Counts[s.Change]++
	}
	return r
}

// whyRestart says why server s, running as old, would be restarted to run
// newProgram with the configuration fingerprinted now: nothing when it runs
// the same.
func whyRestart(s *topology.Server, now topology.Fingerprint, old admin.ServerStatus, newProgram string) []string {
	if old.Pid == 0 && old.Program == "" {
		return nil // not running: it starts as the topology says whenever it starts
	}
	var why []string
	switch {
	case old.Program == "" || newProgram == "":
		if old.Program != newProgram {
			why = append(why, "its program's version is not known")
		}
	case old.Program != newProgram:
		why = append(why, fmt.Sprintf("its program changed (%s → %s)", old.Program, newProgram))
	}
	if old.Config == "" {
		return append(why, "the configuration it runs with is not known")
	}
	if now.Digest == old.Config {
		return why
	}
	var keys []string
	for _, part := range now.Changed(topology.Fingerprint{Digest: old.Config, Parts: old.ConfigParts}) {
		keys = append(keys, partName(s, part))
	}
	slices.Sort(keys)
	return append(why, "configuration: "+strings.Join(slices.Compact(keys), ", "))
}

// partName is where a fingerprint part is written in the topology.
func partName(s *topology.Server, part string) string {
	switch {
	case strings.HasPrefix(part, "server."):
		return s.ID + "." + strings.TrimPrefix(part, "server.")
	case strings.HasPrefix(part, "type."):
		return "servers." + s.Type + "." + strings.TrimPrefix(part, "type.")
	case part == "secrets":
		return "a secret (a token, a password)"
	}
	return part
}

func writeDiff(w io.Writer, r diffReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tTYPE\tGROUP\tCHANGE\tWHY")
	for _, s := range r.Servers {
		group := s.Group
		if group == "" {
			group = "-"
		}
		why := strings.Join(s.Why, "; ")
		if why == "" {
			why = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Type, group, s.Change, why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d to add, %d to restart, %d to remove, %d unchanged\n",
		r.Counts[changeAdd], r.Counts[changeRestart], r.Counts[changeRemove], r.Counts[changeUnchanged])
	return err
}
