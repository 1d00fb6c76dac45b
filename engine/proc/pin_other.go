//go:build !linux

package proc

import (
	"errors"
	"os/exec"
)

func startPinned(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) > 0 {
		return errors.New("CPU binding works on Linux only")
	}
	return cmd.Start()
}
