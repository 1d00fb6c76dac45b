package master

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/launch"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// serveArgs is the command line that runs server id of the topology the
// master runs, after the program (pomeloctl, or a type's command and its
// args): `serve - --stdin-path TOPOLOGY --id ID --port-offset N`. The
// topology comes on stdin resolved (topology.Source: profiles merged), so
// that every server runs what the master read, on any host.
func serveArgs(t *topology.Topology, id string) []string {
	offset := t.PortOffset
	return launch.Spec{Topology: "-", StdinPath: t.File, ID: id, PortOffset: &offset}.Args()
}

// spec is how to start server s: its program and arguments, its
// environment, its log file and its CPUs. A server on another host is
// started over ssh (see remoteSpec).
func (m *Master) spec(s *topology.Server, added *topology.AddSpec) (proc.Spec, error) {
	return m.specFrom(m.cfg.Topology, s, added, "")
}

// specOf is how to start mem now: from its topology, with its program.
func (m *Master) specOf(mem *member) (proc.Spec, error) {
	return m.specFrom(m.topOf(mem), mem.srv, mem.added, mem.program)
}

// specFrom is how to start server s of topology t, running program
// instead of its command when program is not "".
func (m *Master) specFrom(t *topology.Topology, s *topology.Server, added *topology.AddSpec, program string) (proc.Spec, error) {
	st := t.Types.Get(s.Type)
	path, args := m.cfg.Executable, serveArgs(t, s.ID)
	switch {
	case program != "":
		path = program
		args = append(append([]string(nil), st.Args...), args...)
	case st.Command != "":
		if s.Local || strings.ContainsRune(st.Command, '/') {
			var err error
			if path, err = command(t, st.Command, s.Local); err != nil {
				return proc.Spec{}, err
			}
		} else {
			path = st.Command // looked up on the remote host's PATH
		}
		args = append(append([]string(nil), st.Args...), args...)
	}
	env := []string{launch.EnvMaster + "=" + m.masterAddrs()}
	if n := m.maxProcs(s); n > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(n))
	}
	if added != nil {
		data, err := json.Marshal(added)
		if err != nil {
			return proc.Spec{}, err
		}
		env = append(env, launch.EnvAdd+"="+string(data))
	}
	spec := proc.Spec{
		Path:    path,
		Args:    args,
		Env:     append(os.Environ(), append(env, launch.EnvToken+"="+m.tokenOf(s))...),
		Dir:     filepath.Dir(t.File),
		LogFile: m.dir.Log(s.ID),
		Stdin:   t.Source,
	}
	if s.CPU != nil {
		spec.CPUs = *s.CPU
	}
	if !s.Local {
		return m.remoteSpec(s, spec, env, m.tokenOf(s)), nil
	}
	return spec, nil
}

// maxProcs is the GOMAXPROCS a local server gets: this machine's CPUs shared
// out between the cluster's local servers, at least one each. A Go process
// sizes itself to every CPU, and eight of them on two cores each keep a
// scheduler thread per CPU busy looking for work and waking the others: the
// chat demo answers 20–50 % more requests a second with one each. It is 0
// (the runtime decides) when the operator set GOMAXPROCS for the master, for
// a server pinned with cpu (Go sizes itself to the CPUs it may use), and for
// other hosts, whose CPUs this machine does not know.
func (m *Master) maxProcs(s *topology.Server) int {
	if !s.Local || s.CPU != nil || os.Getenv("GOMAXPROCS") != "" {
		return 0
	}
	local := 0
	for _, o := range m.cfg.Topology.AllServers() {
		if o.Local {
			local++
		}
	}
	cpus := runtime.NumCPU()
	return max(1, (cpus+local-1)/max(local, 1))
}

// remoteSpec turns a local spec into ssh running the same command at the
// same path on the server's host (Pomelo's convention: a cluster is
// deployed at one path on every host), the resolved topology passing
// through ssh to its standard input. The ssh client is the master's child: its exit is the
// server's, and its log file gets what the server writes.
func (m *Master) remoteSpec(s *topology.Server, local proc.Spec, env []string, token string) proc.Spec {
	var cmd strings.Builder
	// The token comes first on stdin: the shell reads that one line (a
	// shell's read takes a byte at a time from a pipe, leaving the rest, the
	// topology, to the server).
	cmd.WriteString("cd " + shellQuote(local.Dir) + " && IFS= read -r " + launch.EnvToken + " && export " + launch.EnvToken + " && exec env")
	for _, kv := range env {
		cmd.WriteString(" " + shellQuote(kv))
	}
	if len(local.CPUs) > 0 {
		// CPU binding is done on the host the server runs on.
		cmd.WriteString(" taskset -c " + topology.CPUSet(local.CPUs).String())
	}
	cmd.WriteString(" " + shellQuote(local.Path))
	for _, a := range local.Args {
		cmd.WriteString(" " + shellQuote(a))
	}
	return proc.Spec{
		Path:    "ssh",
		Args:    m.sshArgs(s.Host, cmd.String()),
		Dir:     local.Dir,
		LogFile: local.LogFile,
		Stdin:   append([]byte(token+"\n"), local.Stdin...),
	}
}

// sshArgs is the ssh command line that runs cmd on host.
func (m *Master) sshArgs(host, cmd string) []string { return sshArgs(m.cfg.Topology, host, cmd) }

func sshArgs(t *topology.Topology, host, cmd string) []string {
	args := append([]string(nil), t.Master.SSHArgs...)
	return append(args, host, cmd)
}

// StandbySpec is how `up` starts standby master id of ha.standbys: exe
// `master TOPOLOGY --standby ID` with the run directory and profiles
// given, logging to the run directory. A standby on another host is
// started over ssh as a server is (the same path there, the resolved
// topology on stdin), and writes its log to the run directory on its own
// host rather than back through ssh: a standby is there to outlive this
// host, and its ssh client with it.
func StandbySpec(t *topology.Topology, dir RunDir, exe, id string, machine topology.Machine, profiles []string) (proc.Spec, error) {
	i := slices.IndexFunc(t.HA.Standbys, func(s topology.Standby) bool { return s.ID == id })
	if i < 0 {
		return proc.Spec{}, fmt.Errorf("%s is not one of ha.standbys in %s", id, t.File)
	}
	sb := t.HA.Standbys[i]
	args := []string{"master", t.File, "--port-offset", strconv.Itoa(t.PortOffset), "--run-dir", string(dir), "--standby", id}
	if machine.IsLocal(sb.Host) {
		for _, p := range profiles {
			args = append(args, "--profile", p) // as written: resolved from this folder again
		}
		return proc.Spec{Path: exe, Args: args, LogFile: dir.Log(id)}, nil
	}
	args[1] = "-" // the resolved topology, profiles merged, on stdin
	args = append(args, "--stdin-path", t.File)
	logFile := dir.Log(id)
	cmd := "cd " + shellQuote(filepath.Dir(t.File)) + " && mkdir -p " + shellQuote(filepath.Dir(logFile)) + " && exec " + shellQuote(exe)
	for _, a := range args {
		cmd += " " + shellQuote(a)
	}
	cmd += " >>" + shellQuote(logFile) + " 2>&1"
	return proc.Spec{
		Path:    "ssh",
		Args:    sshArgs(t, sb.Host, cmd),
		Dir:     filepath.Dir(t.File),
		LogFile: logFile, // what ssh itself says: the standby's own lines are on its host
		Stdin:   t.Source,
	}, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@%+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// command resolves a type's command: a path with a slash against the
// topology's folder, a bare name on PATH. Only a local command is looked at.
func command(t *topology.Topology, cmd string, local bool) (string, error) {
	if strings.ContainsRune(cmd, '/') {
		p := t.Path(cmd)
		if !local {
			return p, nil
		}
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
