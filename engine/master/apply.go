package master

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/proc"
	"github.com/pomeloctl/pomeloctl/topology"
)

// version is what a server is launched from: its settings, the topology
// they come from (nil: the master's), and a program to run instead of the
// topology's ("": the topology's), for a rollback to a build that is no
// longer on disk.
type version struct {
	srv     *topology.Server
	top     *topology.Topology
	program string
}

// topOf is the topology server mem is launched from.
func (m *Master) topOf(mem *member) *topology.Topology {
	if mem.top != nil {
		return mem.top
	}
	return m.cfg.Topology
}

// Apply makes servers ids take their settings from another topology (a
// rollout's) the next time they start; their processes run on until then.
// What they ran is kept for Revert, their program too: a program the
// rollout's build replaced on disk is copied from the running process
// into the run directory first.
func (m *Master) Apply(ctx context.Context, req admin.ApplyRequest) error {
	if len(req.IDs) == 0 {
		return admin.Errorf(http.StatusBadRequest, "apply: name the servers (ids)")
	}
	offset := m.cfg.Topology.PortOffset
	t, _, err := topology.LoadBytes(req.File, []byte(req.Source), topology.Options{Machine: m.cfg.Machine, PortOffset: &offset})
	if err != nil {
		return admin.Errorf(http.StatusBadRequest, "apply: the topology does not load: %v", err)
	}
	// Checked and read on the loop, the programs copied off it (a copy
	// takes a while), then switched on it.
	type running struct {
		id string
		p  process
	}
	var procs []running
	var errApply error
	if err := m.exec(ctx, func() {
		for _, id := range req.IDs {
			mem := m.byID[id]
			s := t.Server(id)
			switch {
			case mem == nil:
				errApply = admin.Errorf(http.StatusNotFound, "apply: no server %q in this cluster", id)
				return
			case s == nil:
				errApply = admin.Errorf(http.StatusBadRequest, "apply: %s is not in %s", id, req.File)
				return
			case s.Type != mem.srv.Type:
				errApply = admin.Errorf(http.StatusBadRequest, "apply: %s is a %s here and a %s in %s: a server keeps its type", id, mem.srv.Type, s.Type, req.File)
				return
			}
			if p := mem.proc; p != nil && p.program != "" && mem.program == "" {
				procs = append(procs, running{id: id, p: *p})
			}
		}
	}); err != nil {
		return err
	}
	if errApply != nil {
		return errApply
	}
	kept := map[string]string{}
	for _, r := range procs {
		path := ProgramPath(t, t.Server(r.id), m.cfg.Executable)
		if now, err := proc.ProgramVersion(path); err == nil && now == r.p.program {
			continue // the same build: nothing to keep
		}
		if k, err := m.keepProgram(&r.p); err != nil {
			m.log.Warn("could not keep the program a server runs: going back would start it from what is on disk", "server", r.id, "err", err)
		} else {
			kept[r.id] = k
		}
	}
	return m.exec(ctx, func() {
		for _, id := range req.IDs {
			mem := m.byID[id]
			prev := &version{srv: mem.srv, top: mem.top, program: mem.program}
			if k, ok := kept[id]; ok {
				prev.program = k
			}
			mem.prev, mem.srv, mem.top, mem.program = prev, t.Server(id), t, ""
			m.log.Info("server takes a new configuration at its next start", "server", id, "topology", req.File)
		}
	})
}

// Revert makes servers ids start again from what they ran before Apply.
func (m *Master) Revert(ctx context.Context, ids []string) error {
	var errRevert error
	if err := m.exec(ctx, func() {
		for _, id := range ids {
			mem := m.byID[id]
			switch {
			case mem == nil:
				errRevert = admin.Errorf(http.StatusNotFound, "revert: no server %q in this cluster", id)
				return
			case mem.prev == nil:
				errRevert = admin.Errorf(http.StatusConflict, "revert: %s has nothing to go back to (no apply since the master started)", id)
				return
			}
		}
		for _, id := range ids {
			mem := m.byID[id]
			mem.srv, mem.top, mem.program, mem.prev = mem.prev.srv, mem.prev.top, mem.prev.program, nil
			m.log.Info("server goes back to its previous configuration at its next start", "server", id, "program", mem.program)
		}
	}); err != nil {
		return err
	}
	return errRevert
}

// keepProgram copies the program process p runs into the run directory
// (programs/VERSION/NAME), once per build: a rebuild has replaced the file
// it started from, but the running process still maps the old one, which
// /proc/PID/exe reads. A process whose program is not the build it was
// launched with (a wrapper script's interpreter) is not copied.
func (m *Master) keepProgram(p *process) (string, error) {
	if p.remote || p.pid == 0 {
		return "", fmt.Errorf("its process is on another host")
	}
	exe := "/proc/" + strconv.Itoa(p.pid) + "/exe"
	if v, err := proc.ProgramVersion(exe); err != nil || v != p.program {
		return "", fmt.Errorf("its process runs %s, not the program it was launched with (%s)", v, p.program)
	}
	target, _ := os.Readlink(exe)
	dir := filepath.Join(string(m.dir), "programs", sanitize(p.program))
	// A program replaced on disk reads "PATH (deleted)".
	path := filepath.Join(dir, filepath.Base(strings.TrimSuffix(target, " (deleted)")))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".program-*")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// sanitize makes a program version a folder name ("go:abc" → "go-abc").
func sanitize(v string) string {
	out := []byte(v)
	for i, c := range out {
		if c == ':' || c == '/' {
			out[i] = '-'
		}
	}
	return string(out)
}
