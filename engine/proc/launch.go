package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Spec says how to start one server process.
type Spec struct {
	Path    string   // the program
	Args    []string // its arguments, without the program's name
	Env     []string // the environment; nil inherits this process's
	Dir     string   // the working directory; "" is this process's
	LogFile string   // stdout and stderr, appended
	CPUs    []int    // CPUs to pin the process (every thread) to; nil for no pinning
	// Stdin is what the process reads on its standard input, then EOF; nil
	// for none (/dev/null).
	Stdin []byte
}

// Process is a started server process.
type Process struct {
	Pid int
	// StartTime is the process's start in clock ticks since boot (the 22nd field
	// of /proc/PID/stat): with the pid, it names the process for good.
	StartTime uint64
	Started   time.Time
	cmd       *exec.Cmd
}

// Start starts a process as Spec says. It returns once the process runs; Wait
// reaps it.
func Start(spec Spec) (*Process, error) {
	if spec.LogFile == "" {
		return nil, errors.New("start: no log file")
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogFile), 0o755); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	logf, err := os.OpenFile(spec.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start: open the log: %w", err)
	}
	defer logf.Close() // the child has its own descriptor by now
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env, cmd.Dir = spec.Env, spec.Dir
	if spec.Stdin != nil {
		f, err := stdinFile(spec.Stdin)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", spec.Path, err)
		}
		defer f.Close() // the child has its own descriptor by now
		cmd.Stdin = f
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Setsid: a session and process group of its own, away from the master's
	// terminal and signals, so that the master's death does not take it along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := startPinned(cmd, spec.CPUs); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Path, err)
	}
	p := &Process{Pid: cmd.Process.Pid, Started: time.Now(), cmd: cmd}
	if p.StartTime, err = StartTime(p.Pid); err != nil {
		// It exited already: Wait will say how.
		p.StartTime = 0
	}
	return p, nil
}

// Wait waits for a process this master started and returns how it ended.
func (p *Process) Wait() (*os.ProcessState, error) {
	if p.cmd == nil {
		return nil, errors.New("wait: not a child of this process")
	}
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState, nil
	}
	return p.cmd.ProcessState, err
}

// stdinFile holds data in a file in memory, which the child reads as its
// standard input from the start. Not a pipe fed by a goroutine of this
// process: `up -d` exits once it has started a standby, and a master may
// die just after it launched a server, and either would cut the topology
// short. In memory, and never named on disk, because it holds tokens.
func stdinFile(data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("pomeloctl-stdin", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("make its standard input: %w", err)
	}
	f := os.NewFile(uintptr(fd), "pomeloctl-stdin")
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("write its standard input: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("rewind its standard input: %w", err)
	}
	return f, nil
}
