package topology

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// allowedCPUs is this process's affinity mask: the CPUs a server started from here
// can be bound to (a container or taskset may allow fewer than the machine has).
func allowedCPUs() (CPUSet, error) {
	var mask unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mask); err != nil {
		return nil, fmt.Errorf("read this process's CPU affinity: %w", err)
	}
	var set CPUSet
	for i := range 1024 {
		if mask.IsSet(i) {
			set = append(set, i)
		}
	}
	return set, nil
}
