//go:build !linux

package topology

import "errors"

func allowedCPUs() (CPUSet, error) {
	return nil, errors.New("CPU binding works on Linux only; cpu settings will be ignored on this system")
}
