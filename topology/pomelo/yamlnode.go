package pomelo

import (
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// The topology is built as a yaml.v3 node tree, which keeps keys in the order they
// are added. Every scalar carries its tag, so that yaml.v3 quotes a string that
// would otherwise read back as a number or a boolean ("3150", "true").

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func intNode(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// numberNode writes a JSON number: a whole number as an integer, as JavaScript
// (which has one number type) does not tell 3 from 3.0; anything else as a float.
func numberNode(text string) *yaml.Node {
	if n, ok := wholeNumber(text); ok {
		return intNode(n)
	}
	f, _ := strconv.ParseFloat(text, 64) // valid JSON; beyond float64, ±Inf as in JavaScript
	v := strconv.FormatFloat(f, 'g', -1, 64)
	switch {
	case math.IsInf(f, 1):
		v = ".inf"
	case math.IsInf(f, -1):
		v = "-.inf"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: v}
}

// newMap starts a mapping; a flow mapping prints on one line, {a: 1, b: 2}.
func newMap(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func newSeq(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

// set appends key: v to the mapping m.
func set(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, strNode(key), v)
}

// jsonNode copies a JSON value into YAML as it is, keeping its type: user settings
// keep the types the Pomelo application reads them with.
func jsonNode(v *value) *yaml.Node {
	switch v.kind {
	case nullKind:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case boolKind:
		return boolNode(v.text == "true")
	case numberKind:
		return numberNode(v.text)
	case stringKind:
		return strNode(v.text)
	case arrayKind:
		n := newSeq(true)
		for _, item := range v.items {
			n.Content = append(n.Content, jsonNode(item))
		}
		return n
	}
	n := newMap(true)
	for _, m := range v.members {
		set(n, m.key, jsonNode(m.val))
	}
	return n
}
