package pomelo

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pomeloctl/pomeloctl/topology"
)

// loopbackMachine treats every 127.x address as this machine and allows CPUs 0-1,
// so that the fixtures load alike on any machine.
type loopbackMachine struct{}

func (loopbackMachine) IsLocal(host string) bool              { return strings.HasPrefix(host, "127.") }
func (loopbackMachine) AllowedCPUs() (topology.CPUSet, error) { return topology.CPUSet{0, 1}, nil }

// importAndLoad imports a fixture into a topology file and loads that file as
// `pomeloctl up` would.
func importAndLoad(t *testing.T, fixture, env string) *topology.Topology {
	t.Helper()
	out := filepath.Join(t.TempDir(), "topology.yaml")
	res, err := Import([]string{filepath.Join(fixtures, fixture)}, Options{Env: env, Out: out})
	if err != nil {
		t.Fatalf("import %s: %v", fixture, err)
	}
	top, warnings, err := topology.LoadBytes(out, res.YAML, topology.Options{Machine: loopbackMachine{}})
	if err != nil {
		t.Fatalf("the import of %s does not load: %v\n%s", fixture, err, res.YAML)
	}
	if len(warnings) > 0 {
		t.Errorf("loading the import of %s warns: %v", fixture, warnings)
	}
	return top
}

func expanded(top *topology.Topology) []string {
	var out []string
	for _, st := range top.Types {
		for _, s := range st.Servers {
			line := fmt.Sprintf("%s %s %s:%d", s.Type, s.ID, s.Host, s.Port)
			if s.Frontend {
				line += fmt.Sprintf(" client %s:%d", s.ClientHost, s.ClientPort)
			}
			if s.CPU != nil {
				line += " cpu " + s.CPU.String()
			}
			if s.Restart.Policy != "no" {
				line += " restart " + s.Restart.Policy
			}
			if s.Restart.Force {
				line += " force"
			}
			out = append(out, line)
		}
	}
	return out
}

// TestImportedClusterCountExpands checks the whole cluster Pomelo derives from the
// cluster-count fixture: ids cluster-server-<type>-<n> with n counting across the
// groups of a type, and "N++" ports counting within each group.
func TestImportedClusterCountExpands(t *testing.T) {
	top := importAndLoad(t, "cluster-count", "production")
	var want []string
	for i := range 8 {
		want = append(want, fmt.Sprintf("gate cluster-server-gate-%d 127.0.0.1:0 client 127.0.0.1:%d", i, 6150+i))
	}
	for g, host := range []string{"127.0.0.1", "127.0.0.2"} {
		for i := range 8 {
			want = append(want, fmt.Sprintf("connector cluster-server-connector-%d %s:%d client %s:%d", 8*g+i, host, 6300+i, host, 6200+i))
		}
	}
	want = append(want,
		"game game-server-1 127.0.0.1:6400 cpu 1 restart on-failure",
		"game game-server-2 127.0.0.1:6401 restart on-failure force",
	)
	if got := expanded(top); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cluster-count expands to:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestImportedFixturesLoad(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		servers int
		check   func(*topology.Topology) error
	}{
		{"lordofpomelo", 13, func(top *topology.Topology) error {
			if top.HA == nil || len(top.HA.Standbys) != 2 || top.HA.Standbys[0].ID == top.HA.Standbys[1].ID {
				return fmt.Errorf("standbys: %+v", top.HA)
			}
			if a := top.Types.Get("area").Servers[3]; a.ID != "instance-server-1" || a.Settings["instance"] != true {
				return fmt.Errorf("instance-server-1 settings: %+v", a)
			}
			if len(top.Dictionary) != 10 || top.Master.Tokens["area"].Value == "" {
				return fmt.Errorf("dictionary %v, tokens %v", top.Dictionary, top.Master.Tokens)
			}
			return nil
		}},
		{"chatofpomelo-websocket", 7, func(top *topology.Topology) error {
			if g := top.Types.Get("gate").Servers[0]; g.ClientPort != 3014 || g.Port != 0 {
				return fmt.Errorf("gate: %+v", g)
			}
			if top.Protos.Server == "" {
				return fmt.Errorf("serverProtos.json is not referenced")
			}
			return nil
		}},
	} {
		top := importAndLoad(t, tc.fixture, "development")
		n := 0
		for _, st := range top.Types {
			n += len(st.Servers)
		}
		if n != tc.servers {
			t.Errorf("%s: %d servers, want %d", tc.fixture, n, tc.servers)
		}
		if err := tc.check(top); err != nil {
			t.Errorf("%s: %v", tc.fixture, err)
		}
	}
}
