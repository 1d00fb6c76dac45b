package master

import (
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pomeloctl/pomeloctl/topology"
)

// Local servers share the machine's CPUs out as GOMAXPROCS, unless the
// operator chose (GOMAXPROCS for the master) or a server is pinned.
func TestServersShareTheCPUs(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // as if unset, whatever runs the test
	dir := chatCopy(t, func(text string) string {
		return strings.Replace(text, "  gate:\n", "  gate:\n    cpu: 0\n", 1)
	})
	top, _, err := topology.Load(filepath.Join(dir, "topology.yaml"), topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Topology: top, RunDir: RunDir(t.TempDir()), Executable: "/bin/true", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	env := func(id string) []string {
		spec, err := m.spec(top.Server(id), nil)
		if err != nil {
			t.Fatal(err)
		}
		return spec.Env
	}
	want := "GOMAXPROCS=" + strconv.Itoa(max(1, (runtime.NumCPU()+6)/7)) // seven local servers
	if e := env("connector-server-1"); !slices.Contains(e, want) {
		t.Errorf("connector-server-1's environment has no %s: %v", want, e)
	}
	if e := env("gate-server-1"); slices.ContainsFunc(e, func(v string) bool { return strings.HasPrefix(v, "GOMAXPROCS=") && v != "GOMAXPROCS=" }) {
		t.Errorf("gate-server-1 is pinned to a CPU, so Go sizes itself; its environment: %v", e)
	}
	t.Setenv("GOMAXPROCS", "3")
	if e := env("chat-server-1"); slices.Contains(e, want) || !slices.Contains(e, "GOMAXPROCS=3") {
		t.Errorf("the operator's GOMAXPROCS=3 should reach chat-server-1 alone: %v", e)
	}
}
