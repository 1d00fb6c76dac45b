package proc

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PSS is a process's proportional set size in bytes, from /proc (Linux): its
// private memory plus its share of what it shares, the fairest per-process figure
// when several processes share one binary.
func PSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, fmt.Errorf("read the PSS of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read the PSS of pid %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("read the PSS of pid %d: no Pss line in smaps_rollup", pid)
}
