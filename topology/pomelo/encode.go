package pomelo

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pomeloctl/pomeloctl/topology"
)

// encode writes the topology file: a header saying where it came from, then each
// top-level section and each server type as its own block, a blank line apart, in
// the layout of a hand-written topology. Servers, users and standbys are one line
// each.
func encode(t *topo, sources []string, env string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Imported by `pomeloctl import` from a Pomelo project's config, environment %q:\n", env)
	for _, s := range sources {
		fmt.Fprintf(&b, "#   %s\n", printable(s))
	}
	b.WriteString("# The import's warnings say what it changed or dropped on the way.\n")

	sections := []struct {
		key string
		val *yaml.Node
	}{
		{"name", strNode(t.name)},
		{"master", masterNode(t)},
		{"ha", haNode(t.ha)},
		{"dictionary", dictionaryNode(t.dictionary)},
		{"protos", protosNode(t)},
	}
	for _, s := range sections {
		if s.val == nil {
			continue
		}
		out, err := block(s.key, s.val)
		if err != nil {
			return nil, err
		}
		b.WriteByte('\n')
		b.Write(out)
	}
	b.WriteString("\nservers:\n")
	for i, st := range t.types {
		out, err := block(st.name, typeNode(st))
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		for line := range strings.Lines(string(out)) {
			if line != "\n" {
				b.WriteString("  ")
			}
			b.WriteString(line)
		}
	}
	return b.Bytes(), nil
}

// printable keeps a file name from breaking out of its comment line.
func printable(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(s)
	}
	return s
}

// block encodes the one-key mapping key: v.
func block(key string, v *yaml.Node) ([]byte, error) {
	m := newMap(false)
	set(m, key, v)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func masterNode(t *topo) *yaml.Node {
	ms := t.master
	m := newMap(false)
	if ms.id != "" {
		set(m, "id", strNode(ms.id))
	}
	if ms.host != "" {
		set(m, "host", strNode(ms.host))
	}
	if ms.port != 0 {
		set(m, "port", intNode(ms.port))
	}
	if t.users != nil {
		users := newSeq(false)
		users.Content = t.users
		set(m, "users", users)
	}
	if len(t.tokens) > 0 {
		tokens := newMap(false)
		for _, tt := range t.tokens {
			set(tokens, tt.typ, strNode(tt.token))
		}
		set(m, "tokens", tokens)
	}
	if len(m.Content) == 0 {
		return nil
	}
	return m
}

func haNode(ha *haSpec) *yaml.Node {
	if ha == nil {
		return nil
	}
	m := newMap(false)
	zk := newSeq(false)
	zk.Content = append(zk.Content, strNode(topology.DefaultZookeeper))
	set(m, "zookeeper", zk)
	set(m, "path", strNode(topology.DefaultHAPath))
	standbys := newSeq(false)
	for _, sb := range ha.standbys {
		s := newMap(true)
		set(s, "id", strNode(sb.id))
		if sb.host != "" {
			set(s, "host", strNode(sb.host))
		}
		if sb.port != 0 {
			set(s, "port", intNode(sb.port))
		}
		standbys.Content = append(standbys.Content, s)
	}
	set(m, "standbys", standbys)
	return m
}

func dictionaryNode(routes []string) *yaml.Node {
	if len(routes) == 0 {
		return nil
	}
	n := newSeq(false)
	for _, r := range routes {
		n.Content = append(n.Content, strNode(r))
	}
	return n
}

func protosNode(t *topo) *yaml.Node {
	m := newMap(false)
	if t.serverProtos != "" {
		set(m, "server", strNode(t.serverProtos))
	}
	if t.clientProtos != "" {
		set(m, "client", strNode(t.clientProtos))
	}
	if len(m.Content) == 0 {
		return nil
	}
	return m
}

func typeNode(st *serverType) *yaml.Node {
	m := newMap(false)
	if st.frontend {
		set(m, "frontend", boolNode(true))
	}
	if st.maxConns > 0 {
		c := newMap(false)
		set(c, "maxConnections", intNode(st.maxConns))
		set(m, "connector", c)
	}
	if st.restart != (restartSpec{}) {
		set(m, "restart", st.restart.node())
	}
	instances, clusters := newSeq(false), newSeq(false)
	for _, e := range st.entries {
		if e.count > 0 {
			clusters.Content = append(clusters.Content, entryNode(e))
		} else {
			instances.Content = append(instances.Content, entryNode(e))
		}
	}
	if len(instances.Content) > 0 {
		set(m, "instances", instances)
	}
	if len(clusters.Content) > 0 {
		set(m, "cluster", clusters)
	}
	return m
}

// entryNode writes an instance, or a cluster group, on one line.
func entryNode(e *entry) *yaml.Node {
	m := newMap(true)
	if e.count > 0 {
		set(m, "count", intNode(e.count))
	} else {
		set(m, "id", strNode(e.id))
	}
	if e.host != "" {
		set(m, "host", strNode(e.host))
	}
	if e.port != (portSpec{}) {
		set(m, "port", e.port.node())
	}
	if e.clientHost != "" {
		set(m, "clientHost", strNode(e.clientHost))
	}
	if e.clientPort != (portSpec{}) {
		set(m, "clientPort", e.clientPort.node())
	}
	if e.cpu != nil {
		set(m, "cpu", e.cpu)
	}
	if e.restart != (restartSpec{}) {
		set(m, "restart", e.restart.node())
	}
	if e.token != "" {
		set(m, "token", strNode(e.token))
	}
	if e.settings != nil {
		set(m, "settings", e.settings)
	}
	return m
}
