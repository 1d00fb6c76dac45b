package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/pomeloctl/pomeloctl/topology"
)

// writeTopology prints a resolved topology as a table of servers, or whole as YAML
// or JSON.
func writeTopology(w io.Writer, t *topology.Topology, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	case "yaml":
		return writeYAML(w, t)
	}
	return writeTable(w, t)
}

// writeYAML goes through JSON so that the json tags shape both outputs alike and
// yaml.v3's node tree keeps their order.
func writeYAML(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return err
	}
	clearStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	return enc.Close()
}

// clearStyle drops the flow style and quotes JSON input leaves on every node, but
// keeps quotes on the words YAML 1.1 readers take for booleans (policy: "no").
func clearStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle {
		switch strings.ToLower(n.Value) {
		case "y", "n", "yes", "no", "on", "off":
		default:
			n.Style = 0
		}
	}
	for _, c := range n.Content {
		clearStyle(c)
	}
}

func writeTable(w io.Writer, t *topology.Topology) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// A GROUP column only for a topology with groups, last, so that
	// scripts reading the others by position read the same either way.
	grouped := len(t.GroupNames()) > 0
	group := func(g string) string {
		switch {
		case !grouped:
			return ""
		case g == "":
			return "\t-"
		}
		return "\t" + g
	}
	fmt.Fprintln(tw, "ID\tTYPE\tHOST\tPORT\tCLIENT\tFRONTEND\tCPU\tRESTART"+group("GROUP"))
	fmt.Fprintf(tw, "%s\tmaster\t%s\t%d\t-\t-\t-\t-%s\n", t.Master.ID, t.Master.Host, t.Master.Port, group(""))
	if t.HA != nil {
		for _, s := range t.HA.Standbys {
			fmt.Fprintf(tw, "%s\tmaster (standby)\t%s\t%d\t-\t-\t-\t-%s\n", s.ID, s.Host, s.Port, group(""))
		}
	}
	for _, st := range t.Types {
		for _, s := range st.Servers {
			client, cpu := "-", "-"
			if s.ClientPort != 0 {
				client = s.ClientHost + ":" + strconv.Itoa(s.ClientPort)
			}
			if s.CPU != nil {
				cpu = s.CPU.String()
			}
			port := "-"
			if s.Port != 0 {
				port = strconv.Itoa(s.Port)
			}
			restart := s.Restart.Policy
			if s.Restart.Force {
				restart += " (force)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%t\t%s\t%s%s\n", s.ID, s.Type, s.Host, port, client, s.Frontend, cpu, restart, group(s.Group))
		}
	}
	return tw.Flush()
}
