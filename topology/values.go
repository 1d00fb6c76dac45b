package topology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pomeloctl/pomeloctl/internal/spell"
)

// Duration is a length of time written with a unit: "3s", "500ms", "1m30s".
type Duration time.Duration

// D is the duration as the time package's type.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) decodeNode(dec *decoder, n *yaml.Node, path string) {
	s, ok := dec.scalar(n, path, "a duration such as 3s")
	if !ok {
		return
	}
	// Zero is zero in any unit; any other bare number is ambiguous.
	if f, err := strconv.ParseFloat(s, 64); err == nil && f != 0 {
		dec.fail(n, path, fmt.Sprintf("write %ss for seconds or %sms for milliseconds", s, s), "the duration %s has no unit", s)
		return
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		dec.fail(n, path, "write a number with a unit: ms, s, m or h (e.g. 3s, 1m30s)", "%q is not a duration", s)
		return
	}
	if v < 0 {
		dec.fail(n, path, "", "the duration %s is negative", s)
		return
	}
	*d = Duration(v)
}

// Size is a number of bytes, written as a whole number or with KiB or MiB.
type Size int

func (s *Size) decodeNode(dec *decoder, n *yaml.Node, path string) {
	text, ok := dec.scalar(n, path, "a size such as 64KiB")
	if !ok {
		return
	}
	num, unit := text, 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"B", 1}} {
		if before, found := strings.CutSuffix(text, u.suffix); found {
			num, unit = strings.TrimSpace(before), u.mult
			break
		}
	}
	v, err := strconv.Atoi(num)
	if err != nil || v < 0 {
		dec.fail(n, path, "write bytes as a whole number, or with KiB or MiB (e.g. 64KiB)", "%q is not a size", text)
		return
	}
	*s = Size(v * unit)
}

// CPUSet is a set of CPU numbers, written as one number, or a string of numbers and
// ranges: 2, "0-3", "0,2,4-5".
type CPUSet []int

func (c CPUSet) String() string {
	var parts []string
	for i := 0; i < len(c); {
		j := i
		for j+1 < len(c) && c[j+1] == c[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(c[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", c[i], c[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func (c CPUSet) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// ParseCPUSet reads "0-3,6" into a sorted set without repeats.
func ParseCPUSet(s string) (CPUSet, error) {
	var set CPUSet
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a CPU number", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a CPU range (write low-high, e.g. 0-3)", part)
			}
		}
		if b >= 4096 {
			return nil, fmt.Errorf("CPU %d is beyond any machine's CPUs", b)
		}
		for i := a; i <= b; i++ {
			set = append(set, i)
		}
	}
	slices.Sort(set)
	return slices.Compact(set), nil
}

func (c *CPUSet) decodeNode(dec *decoder, n *yaml.Node, path string) {
	s, ok := dec.scalar(n, path, `a CPU number or a set such as "0-3"`)
	if !ok {
		return
	}
	set, err := ParseCPUSet(s)
	if err != nil {
		dec.fail(n, path, `write a CPU number (2) or a set ("0-3", "0,2")`, "%v", err)
		return
	}
	*c = set
}

// PortRange is a port, or Pomelo's "N++": N for the first server of a cluster
// group, N+1 for the next, and so on.
type PortRange struct {
	Base      int
	Increment bool
}

func (p PortRange) String() string {
	if p.Increment {
		return strconv.Itoa(p.Base) + "++"
	}
	return strconv.Itoa(p.Base)
}

// At is the port of the i-th server of a group.
func (p PortRange) At(i int) int {
	if p.Increment {
		return p.Base + i
	}
	return p.Base
}

func (p *PortRange) decodeNode(dec *decoder, n *yaml.Node, path string) {
	s, ok := dec.scalar(n, path, `a port or a range such as "3150++"`)
	if !ok {
		return
	}
	base, inc := strings.CutSuffix(s, "++")
	v, err := strconv.Atoi(base)
	switch {
	case err != nil:
		dec.fail(n, path, `write a port (3150) or a range start ("3150++")`, "%q is not a port", s)
		return
	case !inc && n.Tag != "!!int":
		dec.fail(n, path, "write "+s+" without quotes, or \""+s+"++\" for a range", "want a port, found %s", describe(n))
		return
	}
	*p = PortRange{Base: v, Increment: inc}
}

// Secret is a password or token. It may name environment variables — ${NAME}, or
// ${NAME:-default} — which are read when the topology loads. Printing a topology
// shows a secret's ${...} form, or <redacted> when it was written in clear.
type Secret struct {
	Value    string
	Template string // as written, when it names variables
}

func (s Secret) IsZero() bool { return s.Value == "" && s.Template == "" }

func (s Secret) MarshalJSON() ([]byte, error) {
	if s.Template != "" {
		return json.Marshal(s.Template)
	}
	return json.Marshal("<redacted>")
}

func (s *Secret) decodeNode(dec *decoder, n *yaml.Node, path string) {
	text, ok := dec.scalar(n, path, "a string")
	if !ok {
		return
	}
	value, err := expandEnv(text, dec.env)
	if err != nil {
		dec.fail(n, path, err.hint, "%s", err.msg)
		return
	}
	*s = Secret{Value: value}
	if strings.Contains(text, "${") {
		s.Template = text
	} else if name, ok := strings.CutPrefix(text, "$"); ok && validEnvName(name) {
		dec.warn(n, "%s: %q is taken as written; to read the environment variable, write ${%s}", path, text, name)
	}
}

// StringList is a list of strings, or one string of comma-separated items.
type StringList []string

func (l *StringList) decodeNode(dec *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.SequenceNode {
		var items []string
		dec.decodeSlice(n, reflect.ValueOf(&items).Elem(), path)
		*l = items
		return
	}
	s, ok := dec.scalar(n, path, "a list of strings")
	if !ok {
		return
	}
	*l = nil
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
}

// decodeNode accepts "restart: on-failure" as short for "restart: {policy: on-failure}".
func (r *Restart) decodeNode(dec *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!bool" {
			dec.fail(n, path, "write restart: on-failure (Pomelo's auto-restart: true) or restart: no", "want a restart policy, found %s", describe(n))
			return
		}
		r.Policy = n.Value
		r.At = Positions{Self: dec.pos(n), Field: map[string]Pos{"policy": dec.pos(n)}}
		return
	}
	dec.decodeStruct(n, reflect.ValueOf(r).Elem(), path)
}

// decodeNode accepts a bare built-in filter name, "serial", for {name: serial}.
func (f *Filter) decodeNode(dec *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		f.Name = n.Value
		f.At = Positions{Self: dec.pos(n), Field: map[string]Pos{"name": dec.pos(n)}}
		return
	}
	dec.decodeStruct(n, reflect.ValueOf(f).Elem(), path)
}

// decodeNode accepts one cluster group as a mapping, or several as a list.
func (c *Clusters) decodeNode(dec *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		var one Cluster
		dec.decodeStruct(n, reflect.ValueOf(&one).Elem(), path)
		*c = Clusters{one}
		return
	}
	var many []Cluster
	dec.decodeSlice(n, reflect.ValueOf(&many).Elem(), path)
	*c = many
}

// decodeNode reads the servers mapping, keeping the order of its types.
func (t *ServerTypes) decodeNode(dec *decoder, n *yaml.Node, path string) {
	pairs, ok := dec.mapping(n, path)
	if !ok {
		return
	}
	seen := map[string]bool{}
	for _, p := range pairs {
		k, v := p[0], p[1]
		sub := join(path, k.Value)
		if seen[k.Value] {
			dec.fail(k, sub, "", "server type %q is declared twice", k.Value)
			continue
		}
		seen[k.Value] = true
		st := &ServerType{Name: k.Value, At: Positions{Self: dec.pos(k)}}
		switch v := resolve(v); {
		case isNull(v):
			dec.fail(k, sub, "declare its instances or a cluster, or remove the type", "server type %q has no servers", k.Value)
			continue
		case v.Kind == yaml.SequenceNode:
			dec.fail(v, sub, "a server type is a mapping: put the list under instances: (frontend: true goes on the type), or let `pomeloctl import` convert a servers.json", "server type %q is a list of servers, as in Pomelo's servers.json", k.Value)
			continue
		}
		dec.decode(v, reflect.ValueOf(st).Elem(), sub)
		st.At.Self = dec.pos(k)
		*t = append(*t, st)
	}
}

// suggest is a hint naming the declared type closest to name.
func (t ServerTypes) suggest(name string) string {
	names := make([]string, len(t))
	for i, st := range t {
		names[i] = st.Name
	}
	if s := spell.Closest(name, names); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return "name a type declared under servers: (" + strings.Join(names, ", ") + ")"
}

// Get returns the server type named name, or nil.
func (t ServerTypes) Get(name string) *ServerType {
	for _, st := range t {
		if st.Name == name {
			return st
		}
	}
	return nil
}

// MarshalJSON writes the types as an object keyed by type name, in file order.
func (t ServerTypes) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, st := range t {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(st.Name)
		val, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
