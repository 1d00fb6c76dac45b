package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// StartTime reads a process's start time from /proc/PID/stat (Linux).
func StartTime(pid int) (uint64, error) {
	return statField(pid, 22)
}

// Group returns the process group of pid: the server a process belongs
// to, when a server's program starts another (a wrapper script that does
// not exec).
func Group(pid int) (int, error) {
	g, err := statField(pid, 5)
	return int(g), err
}

// statField reads field n (counted from 1, as proc(5) does) of
// /proc/PID/stat as a number.
func statField(pid, n int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count
	// the fields after its closing parenthesis.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) <= n-3 { // fields 3.. follow the name
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return strconv.ParseUint(fields[n-3], 10, 64)
}

// KillRest kills with SIGKILL what is left of the process group of a
// server whose leader (pid) has exited: processes it started that did not
// go with it. The group's id cannot be taken by another group while one of
// its members lives, so the signal reaches only what is left of the
// server.
func KillRest(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// Alive reports whether the process pid that started at startTime still runs
// (a zombie counts as gone). A pid reused by another process is not alive.
func Alive(pid int, startTime uint64) bool {
	st, err := StartTime(pid)
	if err != nil || st != startTime {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// KillGroup sends sig to the process group of pid (the server and everything it
// started), if that process is still the one that started at startTime.
func KillGroup(pid int, startTime uint64, sig syscall.Signal) error {
	if !Alive(pid, startTime) {
		return ErrGone
	}
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", pid, err)
	}
	return nil
}

// ErrGone reports a process that is no longer there (or whose pid now names
// another process).
var ErrGone = errors.New("the process is gone")
