package topology

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// sources remembers which file each node came from. Profile overlays splice nodes of
// one file into the tree of another, so a node's position alone does not say where
// it was written.
type sources struct {
	file  map[*yaml.Node]string
	lines map[string][]string
	seq   map[string]int // the order files were read in
}

func newSources() *sources {
	return &sources{file: map[*yaml.Node]string{}, lines: map[string][]string{}, seq: map[string]int{}}
}

// order is where a file came in the loading: the topology first, then its profiles.
func (s *sources) order(file string) int {
	if i, ok := s.seq[file]; ok {
		return i
	}
	return len(s.seq)
}

// add records every node of a parsed file, and the file's lines for expression
// positions inside block scalars.
func (s *sources) add(name string, data []byte, root *yaml.Node) {
	s.lines[name] = strings.Split(string(data), "\n")
	if _, ok := s.seq[name]; !ok {
		s.seq[name] = len(s.seq)
	}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if _, done := s.file[n]; done {
			return
		}
		s.file[n] = name
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
}

func (s *sources) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{File: s.file[n], Line: n.Line, Col: n.Column}
}
