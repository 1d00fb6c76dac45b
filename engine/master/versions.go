package master

import (
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// versionOf is what server s is launched with now: its program's version
// and its configuration's fingerprint. A program this host cannot read
// (one on another host's PATH) has no version here: "".
func (m *Master) versionOf(mem *member) (string, *topology.Fingerprint) {
	t, s := m.topOf(mem), mem.srv
	config := t.Fingerprint(s)
	path := mem.program
	if path == "" {
		path = ProgramPath(t, s, m.cfg.Executable)
	}
	if path == "" {
		return "", &config
	}
	program, err := proc.ProgramVersion(path)
	if err != nil {
		m.log.Debug("no version for a server's program", "server", s.ID, "program", path, "err", err)
	}
	return program, &config
}

// ProgramPath is the program server s of t runs, on this host: its type's
// command (a path relative to the topology's folder, or looked up on
// PATH), else exe (pomeloctl serve); "" for a command named without a
// path for another host, which that host's PATH finds.
func ProgramPath(t *topology.Topology, s *topology.Server, exe string) string {
	st := t.Types.Get(s.Type)
	if st == nil || st.Command == "" {
		return exe
	}
	if !s.Local && !strings.ContainsRune(st.Command, '/') {
		return ""
	}
	path, err := command(t, st.Command, true)
	if err != nil {
		return ""
	}
	return path
}
