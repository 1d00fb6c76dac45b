package topology

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options change how a topology loads. The zero value loads the file as written on
// this machine.
type Options struct {
	// Profiles are overlays merged over the topology in order: a name (looked up as
	// profiles/NAME.yaml beside the topology, then in the working directory) or a path.
	Profiles []string
	// BuiltinProfiles is where a profile name is looked up last (NAME.yaml in it).
	BuiltinProfiles fs.FS
	// PortOffset, when set, replaces the file's portOffset.
	PortOffset *int
	// LookupEnv reads ${VAR} in secrets; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Machine answers which hosts are this machine and which CPUs it allows;
	// the real machine when nil.
	Machine Machine
}

// Load reads the topology at path with its profiles, and returns it resolved and
// checked. An invalid topology gives an ErrorList (errors.Is(err, ErrInvalid));
// other errors mean it could not be read.
func Load(path string, opts Options) (*Topology, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read topology: %w", err)
	}
	return LoadBytes(path, data, opts)
}

// LoadBytes is Load for a topology already in memory; name is the path it is
// reported under and relative paths in it are resolved against.
func LoadBytes(name string, data []byte, opts Options) (*Topology, []Warning, error) {
	l := &loader{opts: opts, src: newSources()}
	if l.opts.LookupEnv == nil {
		l.opts.LookupEnv = os.LookupEnv
	}
	if l.opts.Machine == nil {
		l.opts.Machine = ThisMachine()
	}
	return l.load(name, data)
}

type loader struct {
	opts     Options
	src      *sources
	errs     ErrorList
	warnings []Warning
}

// warn records a warning, one per place as for errors: a value written
// once (in defaults:, say) and used by several types is warned about once.
func (l *loader) warn(pos Pos, format string, args ...any) {
	for _, w := range l.warnings {
		if w.Pos == pos && pos != (Pos{}) {
			return
		}
	}
	l.warnings = append(l.warnings, Warning{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) load(name string, data []byte) (*Topology, []Warning, error) {
	root := l.parse(name, data)
	if root == nil {
		return nil, l.warnings, l.result()
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, nil, fmt.Errorf("locate topology: %w", err)
	}
	var profiles []string
	for _, p := range l.opts.Profiles {
		file, pdata, err := l.readProfile(p, filepath.Dir(abs))
		if err != nil {
			return nil, nil, err
		}
		over := l.parse(file, pdata)
		if over == nil {
			continue
		}
		root = l.mergeProfile(root, over)
		profiles = append(profiles, file)
	}
	if len(l.errs) > 0 {
		return nil, l.warnings, l.result()
	}
	l.applyTypeDefaults(root)
	dropExtensions(root)

	t := &Topology{File: abs, Profiles: profiles}
	if len(profiles) == 0 {
		t.Source = data
	} else if t.Source, err = yaml.Marshal(root); err != nil {
		return nil, nil, fmt.Errorf("topology: write the merged document: %w", err)
	}
	dec := &decoder{src: l.src, env: l.opts.LookupEnv}
	dec.decode(root, reflect.ValueOf(t).Elem(), "")
	l.errs = append(l.errs, dec.errs...)
	l.warnings = append(l.warnings, dec.warnings...)
	if l.opts.PortOffset != nil {
		t.PortOffset = *l.opts.PortOffset
	}
	setDefaults(t)
	l.check(t)
	l.expand(t)
	l.crossCheck(t)
	l.checkChaosTargets(t)
	if err := l.result(); err != nil {
		return nil, l.warnings, err
	}
	return t, l.warnings, nil
}

// result is the errors found, one per place — the first found there, since what
// follows at the same place is its consequence (a port that failed to decode is
// also "out of range"; a mistake in defaults: is decoded once per server type) —
// in the order the files were read, then by line and column.
func (l *loader) result() error {
	seen := map[Pos]bool{}
	var out ErrorList
	for _, e := range l.errs {
		if !seen[e.Pos] || e.Pos == (Pos{}) {
			seen[e.Pos] = true
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortStableFunc(out, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(l.src.order(a.Pos.File), l.src.order(b.Pos.File)), comparePos(a.Pos, b.Pos))
	})
	return out
}

// dropExtensions removes top-level keys that start with x-: a place for YAML
// anchors that the rest of the file refers to, as in Compose files.
func dropExtensions(root *yaml.Node) {
	kept := root.Content[:0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if !strings.HasPrefix(root.Content[i].Value, "x-") {
			kept = append(kept, root.Content[i], root.Content[i+1])
		}
	}
	root.Content = kept
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads one YAML file into its root mapping, or records why it cannot.
func (l *loader) parse(name string, data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.errs.add(Pos{File: name}, "", "the file is empty", "declare at least servers: (see docs/topology.md)")
		} else {
			l.syntaxError(name, err)
		}
		return nil
	}
	if len(doc.Content) == 0 {
		l.errs.add(Pos{File: name}, "", "the file is empty", "declare at least servers: (see docs/topology.md)")
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.syntaxError(name, err)
		return nil
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		l.errs.add(Pos{File: name, Line: extra.Line, Col: extra.Column}, "", "a second YAML document in the file", "keep one document per file; put overlays in a profile")
		return nil
	}
	normalizeRestart(doc.Content[0])
	l.src.add(name, data, &doc)
	if !l.checkAliases(&doc) {
		return nil
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		l.errs.add(l.src.pos(root), "", "want a mapping at the top of the file, found "+describe(root), "start with keys such as name:, master: and servers:")
		return nil
	}
	return root
}

// maxExpanded bounds how many values a file may stand for once its aliases are
// followed: enough for any real cluster, too few for a "billion laughs" file.
const maxExpanded = 1 << 20

// checkAliases refuses an alias that refers to a value containing it (decoding it
// would never end) and a file whose aliases multiply into more than maxExpanded
// values.
func (l *loader) checkAliases(doc *yaml.Node) bool {
	size := map[*yaml.Node]int{}
	onPath := map[*yaml.Node]bool{}
	ok := true
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if n.Kind == yaml.AliasNode {
			if onPath[n.Alias] {
				l.errs.add(l.src.pos(n), "", fmt.Sprintf("alias *%s refers to a value that contains it", n.Value), "an alias can only repeat a value written outside it")
				ok = false
				return 1
			}
			n = n.Alias
		}
		if s, done := size[n]; done {
			return s
		}
		onPath[n] = true
		total := 1
		for _, c := range n.Content {
			total = min(total+walk(c), maxExpanded+1)
		}
		onPath[n] = false
		size[n] = total
		return total
	}
	if walk(doc) > maxExpanded && ok {
		l.errs.add(l.src.pos(doc), "", fmt.Sprintf("the file's aliases expand it to more than %d values", maxExpanded), "repeat less through aliases")
		ok = false
	}
	return ok
}

// syntaxError reports what yaml.v3 says of a file it cannot parse. For parser errors
// ("did not find expected ...") yaml.v3 gives the line before the block or flow
// collection the problem is in, and no column: point at that collection's line.
func (l *loader) syntaxError(name string, err error) {
	pos, msg := Pos{File: name, Line: 1, Col: 1}, err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if strings.HasPrefix(msg, "did not find expected") {
		pos.Line++
		msg += ", somewhere in the block that starts on this line"
	}
	l.errs.add(pos, "", "YAML syntax: "+msg, "check indentation, and that every [ and { is closed")
}

// normalizeRestart rewrites the shorthand restart: POLICY as restart: {policy: POLICY}
// wherever a restart policy goes (defaults, server types, instances, cluster
// groups), so that a profile or defaults: that sets other restart keys merges with
// it instead of replacing it.
func normalizeRestart(root *yaml.Node) {
	expand := func(m *yaml.Node) {
		m = resolve(m)
		if m == nil || m.Kind != yaml.MappingNode {
			return
		}
		if i := indexOfKey(m, "restart"); i >= 0 {
			if v := m.Content[i+1]; v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
				key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "policy", Line: v.Line, Column: v.Column}
				m.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column, Content: []*yaml.Node{key, v}}
			}
		}
	}
	items := func(n *yaml.Node) []*yaml.Node {
		switch n = resolve(n); {
		case n == nil:
			return nil
		case n.Kind == yaml.SequenceNode:
			return n.Content
		}
		return []*yaml.Node{n}
	}
	child := func(m *yaml.Node, key string) *yaml.Node {
		if m = resolve(m); m != nil && m.Kind == yaml.MappingNode {
			if i := indexOfKey(m, key); i >= 0 {
				return m.Content[i+1]
			}
		}
		return nil
	}
	expand(child(root, "defaults"))
	types := resolve(child(root, "servers"))
	if types == nil || types.Kind != yaml.MappingNode {
		return
	}
	for i := 1; i < len(types.Content); i += 2 {
		st := types.Content[i]
		expand(st)
		for _, key := range []string{"instances", "cluster"} {
			for _, item := range items(child(st, key)) {
				expand(item)
			}
		}
	}
}

// applyTypeDefaults merges the top-level defaults: section under every server type,
// so that the type's own keys win, and removes it.
func (l *loader) applyTypeDefaults(root *yaml.Node) {
	j := indexOfKey(root, "defaults")
	if j < 0 {
		return
	}
	defs := resolve(root.Content[j+1])
	root.Content = append(root.Content[:j], root.Content[j+2:]...)
	if isNull(defs) {
		return
	}
	if defs.Kind != yaml.MappingNode {
		l.errs.add(l.src.pos(defs), "defaults", "want a mapping of server-type keys, found "+describe(defs), "")
		return
	}
	for _, key := range []string{"instances", "cluster"} {
		if i := indexOfKey(defs, key); i >= 0 {
			l.errs.add(l.src.pos(defs.Content[i]), "defaults."+key, key+" cannot be a default", "declare "+key+" under each server type")
			defs.Content = append(defs.Content[:i], defs.Content[i+2:]...)
		}
	}
	s := indexOfKey(root, "servers")
	if s < 0 {
		return
	}
	types := resolve(root.Content[s+1])
	if types.Kind != yaml.MappingNode {
		return // reported when decoding
	}
	for i := 1; i < len(types.Content); i += 2 {
		t := resolve(types.Content[i])
		if t.Kind != yaml.MappingNode {
			continue
		}
		d := l.src.clone(defs)
		if !strings.EqualFold(valueOf(t, "frontend"), "true") {
			// connector options are for frontends: a backend takes the rest
			if c := indexOfKey(d, "connector"); c >= 0 {
				d.Content = append(d.Content[:c], d.Content[c+2:]...)
			}
		}
		types.Content[i] = merge(d, t)
	}
}

// readProfile finds a profile by path, or by name: profiles/NAME.yaml beside the
// topology, then in the working directory, then among the built-in ones.
func (l *loader) readProfile(p, topologyDir string) (string, []byte, error) {
	if strings.ContainsRune(p, filepath.Separator) || filepath.Ext(p) != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", nil, fmt.Errorf("read profile: %w", err)
		}
		return p, data, nil
	}
	candidates := []string{
		filepath.Join(topologyDir, "profiles", p+".yaml"),
		filepath.Join("profiles", p+".yaml"),
	}
	for _, c := range candidates {
		if data, err := os.ReadFile(c); err == nil {
			return c, data, nil
		}
	}
	if l.opts.BuiltinProfiles != nil {
		if data, err := fs.ReadFile(l.opts.BuiltinProfiles, p+".yaml"); err == nil {
			return "profiles/" + p + ".yaml (built in)", data, nil
		}
		candidates = append(candidates, "the built-in profiles")
	}
	return "", nil, fmt.Errorf("profile %q not found (looked in %s)", p, strings.Join(candidates, ", "))
}
