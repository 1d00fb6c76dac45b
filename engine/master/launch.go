package master

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// The environment a server process gets from the master. A game's own
// program (a type's `command`) reads the same variables through the engine.
const (
	// EnvMaster is the master's admin address (host:port), which the
	// monitor agent dials.
	EnvMaster = "POMELOCTL_MASTER"
	// EnvToken is the server's monitor token. It travels in the environment
	// rather than on the command line, which every user of the host can read.
	EnvToken = "POMELOCTL_TOKEN"
	// EnvAdd describes a server added at runtime (a topology.AddSpec as
	// JSON), which the topology file does not declare.
	EnvAdd = "POMELOCTL_ADD"
)

// ServeArgs is the command line that runs server id of the topology the
// master runs: `serve TOPOLOGY --id ID --port-offset N [--profile P]...`,
// after the program (pomeloctl, or a type's command and its args).
func ServeArgs(t *topology.Topology, id string) []string {
	args := []string{"serve", t.File, "--id", id, "--port-offset", strconv.Itoa(t.PortOffset)}
	for _, p := range t.Profiles {
		args = append(args, "--profile", p)
	}
	return args
}

// spec is how to start server s: its program and arguments, its
// environment, its log file and its CPUs.
func (m *Master) spec(s *topology.Server, added *topology.AddSpec) (proc.Spec, error) {
	t := m.cfg.Topology
	st := t.Types.Get(s.Type)
	path, args := m.cfg.Executable, ServeArgs(t, s.ID)
	if st.Command != "" {
		var err error
		if path, err = command(t, st.Command); err != nil {
			return proc.Spec{}, err
		}
		args = append(append([]string(nil), st.Args...), args...)
	}
	env := append(os.Environ(), EnvMaster+"="+m.dialAddr(), EnvToken+"="+m.tokenOf(s))
	if added != nil {
		data, err := json.Marshal(added)
		if err != nil {
			return proc.Spec{}, err
		}
		env = append(env, EnvAdd+"="+string(data))
	}
	spec := proc.Spec{
		Path:    path,
		Args:    args,
		Env:     env,
		Dir:     filepath.Dir(t.File),
		LogFile: m.dir.Log(s.ID),
	}
	if s.CPU != nil {
		spec.CPUs = *s.CPU
	}
	return spec, nil
}

// command resolves a type's command: a path with a slash against the
// topology's folder, a bare name on PATH.
func command(t *topology.Topology, cmd string) (string, error) {
	if strings.ContainsRune(cmd, '/') {
		p := t.Path(cmd)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("command %s: %w (build it before `pomeloctl up`)", cmd, err)
		}
		return p, nil
	}
	p, err := exec.LookPath(cmd)
	if err != nil {
		return "", fmt.Errorf("command %s is not on PATH: %w", cmd, err)
	}
	return p, nil
}
