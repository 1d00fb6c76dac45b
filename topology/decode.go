package topology

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pomeloctl/pomeloctl/internal/spell"
)

// decoder turns yaml.v3 nodes into the schema's structs strictly: unknown keys,
// wrong kinds and bad scalars become positioned errors, and decoding goes on so that
// one run reports every problem. yaml.v3's own Decode stops at the first type error
// and cannot refuse unknown keys on a Node, hence this small reflective walker.
type decoder struct {
	src      *sources
	errs     ErrorList
	warnings []Warning
	env      func(string) (string, bool)
}

// nodeDecoder is implemented by types whose YAML form is not a plain struct, map,
// list or scalar: shorthands ("restart: always"), units ("3s") and the like.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

var (
	positionsType   = reflect.TypeFor[Positions]()
	nodeDecoderType = reflect.TypeFor[nodeDecoder]()
)

func (d *decoder) pos(n *yaml.Node) Pos { return d.src.pos(n) }

func (d *decoder) warn(n *yaml.Node, format string, args ...any) {
	d.warnings = append(d.warnings, Warning{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) fail(n *yaml.Node, path, hint, format string, args ...any) {
	d.errs.add(d.pos(n), path, fmt.Sprintf(format, args...), hint)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

// decode fills v (addressable) from n. path names the value in errors.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if isNull(n) {
		return // an explicit null leaves the default in place
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, path, "", "cannot read this value: %v", err)
			return
		}
		v.Set(reflect.ValueOf(&x).Elem())
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if b, ok := d.boolean(n, path); ok {
			v.SetBool(b)
		}
	case reflect.Int:
		if i, ok := d.integer(n, path); ok {
			v.SetInt(int64(i))
		}
	default:
		panic(fmt.Sprintf("topology: no decoding for %s", v.Type())) // a schema bug, not input
	}
}

func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "", "want %s, found %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b, true
		}
	}
	hint := "write true or false"
	if n.Kind == yaml.ScalarNode && (n.Value == "true" || n.Value == "false") {
		hint = "write " + n.Value + " without quotes"
	}
	d.fail(n, path, hint, "want true or false, found %s", describe(n))
	return false, false
}

func (d *decoder) integer(n *yaml.Node, path string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err == nil && i >= -1<<31 && i < 1<<31 {
			return int(i), true
		}
		d.fail(n, path, "", "the number %s is out of range", n.Value)
		return 0, false
	}
	hint := ""
	if n.Kind == yaml.ScalarNode {
		if _, err := strconv.Atoi(n.Value); err == nil {
			hint = "write " + n.Value + " without quotes"
		}
	}
	d.fail(n, path, hint, "want a whole number, found %s", describe(n))
	return 0, false
}

// pairs yields a mapping's key and value nodes, expanding YAML merge keys (<<) so that
// anchors can share settings; keys written in the mapping win over merged ones.
func (d *decoder) pairs(n *yaml.Node, path string) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != "<<" || k.Tag != "!!merge" {
			own = append(own, [2]*yaml.Node{k, v})
			continue
		}
		v = resolve(v)
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, s := range sources {
			if s = resolve(s); s.Kind != yaml.MappingNode {
				d.fail(s, path, "", "a merge key (<<) takes a mapping or a list of mappings, found %s", describe(s))
				continue
			}
			merged = append(merged, d.pairs(s, path)...)
		}
	}
	if len(merged) == 0 {
		return own
	}
	seen := map[string]bool{}
	for _, p := range own {
		seen[p[0].Value] = true
	}
	out := own
	for _, p := range merged {
		if !seen[p[0].Value] {
			seen[p[0].Value] = true
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) mapping(n *yaml.Node, path string) ([][2]*yaml.Node, bool) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "", "want a mapping of keys to values, found %s", describe(n))
		return nil, false
	}
	return d.pairs(n, path), true
}

// unique drops keys written twice in one mapping, reporting each repeat.
func (d *decoder) unique(pairs [][2]*yaml.Node, path string) [][2]*yaml.Node {
	seen := map[string]*yaml.Node{}
	out := pairs[:0:0]
	for _, p := range pairs {
		k := p[0]
		if first, dup := seen[k.Value]; dup {
			d.fail(k, join(path, k.Value), "", "%q is written twice (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, p)
	}
	return out
}

// fieldsOf maps a struct type's YAML keys to field indexes.
func fieldsOf(t reflect.Type) (map[string]int, int) {
	keys := map[string]int{}
	at := -1
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == positionsType {
			at = i
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys[name] = i
		}
	}
	return keys, at
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	pairs, ok := d.mapping(n, path)
	if !ok {
		return
	}
	keys, at := fieldsOf(v.Type())
	var pos Positions
	pos.Self = d.pos(n)
	pos.Field = map[string]Pos{}
	for _, p := range d.unique(pairs, path) {
		k, val := p[0], p[1]
		sub := join(path, k.Value)
		i, known := keys[k.Value]
		if !known {
			if meant := d.unknownKey(k, path, keys); meant != "" && !pos.Has(meant) {
				// Take the typo as the key it resembles, written but bad, so that
				// checks do not also report that key as missing.
				pos.Field[meant] = d.pos(k)
				pos.markBad(meant)
			}
			continue
		}
		if isNull(val) {
			continue // as if not written: the default applies
		}
		pos.record(k.Value, resolve(val), d.src)
		before := len(d.errs)
		d.decode(val, v.Field(i), sub)
		if len(d.errs) > before {
			pos.markBad(k.Value)
		}
	}
	if at >= 0 {
		v.Field(at).Set(reflect.ValueOf(pos))
	}
}

// unknownKey reports a key the schema does not have, and returns the known key it
// seems to be a typo of, if any.
func (d *decoder) unknownKey(k *yaml.Node, path string, keys map[string]int) string {
	names := make([]string, 0, len(keys))
	for name := range keys {
		names = append(names, name)
	}
	sort.Strings(names)
	hint, meant := "", ""
	if h, key := pomeloHint(k.Value); h != "" {
		hint, meant = h, key
	} else if meant = spell.Closest(k.Value, names); meant != "" {
		hint = fmt.Sprintf("did you mean %q?", meant)
	} else {
		hint = "known keys: " + strings.Join(names, ", ")
	}
	where := "here"
	if path != "" {
		where = "in " + path
	}
	d.fail(k, join(path, k.Value), hint, "unknown key %q %s", k.Value, where)
	return meant
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	pairs, ok := d.mapping(n, path)
	if !ok {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(v.Type(), len(pairs)))
	}
	for _, p := range d.unique(pairs, path) {
		k, val := p[0], p[1]
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, join(path, k.Value))
		v.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "", "want a list, found %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if isNull(item) {
			d.fail(item, ipath, "remove the stray '-', or write the item", "an empty item in the list")
			continue
		}
		d.decode(item, s.Index(i), ipath)
	}
	v.Set(s)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// pomeloHint says what to write for a key of Pomelo's JSON configs that users carry
// over by habit, and which key of ours it stands for, if one.
func pomeloHint(key string) (hint, ours string) {
	switch key {
	case "auto-restart":
		return "Pomelo's auto-restart is restart: on-failure here", "restart"
	case "restart-force":
		return "Pomelo's restart-force is restart: {policy: on-failure, force: true} here", "restart"
	case "clusterCount":
		return `Pomelo's clusterCount is cluster: {count: N, port: "N++", ...} here`, ""
	case "max-connections":
		return "Pomelo's max-connections is connector: {maxConnections: N} on the server type here", ""
	case "wsPort":
		return "Pomelo 0.x's wsPort is clientPort", "clientPort"
	case "serverType":
		return "the server type is the key under servers:", ""
	case "development", "production":
		return "a topology is not keyed by environment: keep one environment per file and put differences in a profile (--profile NAME)", ""
	}
	return "", ""
}
