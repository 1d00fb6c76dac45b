package topology

import "gopkg.in/yaml.v3"

// merge lays over on top of base and returns the result; nodes keep their identity so
// that errors still point at the file and line each value came from.
//
//   - mappings merge key by key, and a key whose overlay value is an explicit null
//     is deleted;
//   - lists of mappings that all carry an id merge item by item, matching ids, with
//     new ids appended;
//   - anything else is replaced by the overlay.
func merge(base, over *yaml.Node) *yaml.Node {
	base, over = resolve(base), resolve(over)
	switch {
	case base == nil:
		return over
	case base.Kind == yaml.MappingNode && over.Kind == yaml.MappingNode:
		mergeMaps(base, over)
		return base
	case base.Kind == yaml.SequenceNode && over.Kind == yaml.SequenceNode && keyedByID(base) && keyedByID(over):
		mergeByID(base, over)
		return base
	}
	return over
}

func mergeMaps(base, over *yaml.Node) {
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		j := indexOfKey(base, k.Value)
		switch {
		case isNull(v) && j >= 0:
			base.Content = append(base.Content[:j], base.Content[j+2:]...)
		case isNull(v):
			// deleting what is not there is already done
		case j >= 0:
			base.Content[j+1] = merge(base.Content[j+1], v)
		default:
			base.Content = append(base.Content, k, v)
		}
	}
}

func mergeByID(base, over *yaml.Node) {
	for _, item := range over.Content {
		id := valueOf(resolve(item), "id")
		matched := false
		for i, b := range base.Content {
			if valueOf(resolve(b), "id") == id {
				base.Content[i] = merge(b, item)
				matched = true
				break
			}
		}
		if !matched {
			base.Content = append(base.Content, item)
		}
	}
}

// keyedByID reports whether every item of a list is a mapping with a scalar id.
func keyedByID(seq *yaml.Node) bool {
	for _, item := range seq.Content {
		item = resolve(item)
		if item.Kind != yaml.MappingNode || valueOf(item, "id") == "" {
			return false
		}
	}
	return true
}

func indexOfKey(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// valueOf returns the scalar value of key in mapping m, or "".
func valueOf(m *yaml.Node, key string) string {
	if j := indexOfKey(m, key); j >= 0 {
		if v := resolve(m.Content[j+1]); v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}

// clone copies a node tree deeply, recording each copy as written in the same file
// as its original.
func (s *sources) clone(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = s.clone(child)
	}
	s.file[&c] = s.file[n]
	return &c
}

// mergeProfile lays a profile over the topology as merge does, after its
// ifDeclared section: mappings merged only into the sections the topology
// (with the profiles before it) declares, so that a stock profile can
// adjust ha, say, without turning it on for a cluster that has none.
func (l *loader) mergeProfile(base, over *yaml.Node) *yaml.Node {
	base, over = resolve(base), resolve(over)
	if over == nil || over.Kind != yaml.MappingNode {
		return merge(base, over)
	}
	j := indexOfKey(over, "ifDeclared")
	if j < 0 {
		return merge(base, over)
	}
	cond := resolve(over.Content[j+1])
	over.Content = append(over.Content[:j:j], over.Content[j+2:]...)
	if cond == nil || isNull(cond) {
		return merge(base, over)
	}
	if cond.Kind != yaml.MappingNode {
		l.errs.add(l.src.pos(cond), "ifDeclared", "ifDeclared holds sections, merged only into a topology that declares them", "write e.g. ifDeclared: {ha: {zookeeper: managed}}")
		return merge(base, over)
	}
	if base != nil && base.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(cond.Content); i += 2 {
			if k := indexOfKey(base, cond.Content[i].Value); k >= 0 {
				base.Content[k+1] = merge(base.Content[k+1], cond.Content[i+1])
			}
		}
	}
	return merge(base, over)
}
