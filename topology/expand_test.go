package topology

import (
	"fmt"
	"testing"
)

// TestClusterExpansion follows Pomelo's utils.loadCluster: ids cluster-server-<type>-<n>
// with n counting from 0 across every group of the type in file order, and every
// "N++" port counting from N within its group.
func TestClusterExpansion(t *testing.T) {
	top := mustLoad(t, "cluster.yaml", `
servers:
  gate:
    frontend: true
    cluster: {count: 2, host: 127.0.0.1, clientPort: "6150++"}
  connector:
    frontend: true
    cluster:
      - {count: 2, host: 127.0.0.1, port: "6300++", clientPort: "6200++"}
      - {count: 3, host: 127.0.0.2, port: "6300++", clientPort: "6200++", clientHost: 10.0.0.2}
    instances:
      - {id: connector-server-x, port: 6400, clientPort: 6401}
  game:
    cluster: {count: 1, port: 6500}
`, testOptions())
	equalLines(t, "servers", serverList(top), []string{
		"cluster-server-gate-0 gate 127.0.0.1 0 127.0.0.1 6150",
		"cluster-server-gate-1 gate 127.0.0.1 0 127.0.0.1 6151",
		"connector-server-x connector 127.0.0.1 6400 127.0.0.1 6401",
		"cluster-server-connector-0 connector 127.0.0.1 6300 127.0.0.1 6200",
		"cluster-server-connector-1 connector 127.0.0.1 6301 127.0.0.1 6201",
		"cluster-server-connector-2 connector 127.0.0.2 6300 10.0.0.2 6200",
		"cluster-server-connector-3 connector 127.0.0.2 6301 10.0.0.2 6201",
		"cluster-server-connector-4 connector 127.0.0.2 6302 10.0.0.2 6202",
		"cluster-server-game-0 game 127.0.0.1 6500  0",
	})
}

func TestPortOffset(t *testing.T) {
	src := `
portOffset: 1000
master: {port: 3005}
ha: {standbys: [{id: m2, port: 3006}]}
servers:
  gate: {frontend: true, cluster: {count: 2, clientPort: "3014++"}}
  chat: {instances: [{id: chat-1, port: 6050}]}
`
	top := mustLoad(t, "offset.yaml", src, testOptions())
	got := []string{fmt.Sprint(top.Master.Port, " ", top.HA.Standbys[0].Port)}
	got = append(got, serverList(top)...)
	equalLines(t, "ports shifted by 1000", got, []string{
		"4005 4006",
		"cluster-server-gate-0 gate 127.0.0.1 0 127.0.0.1 4014",
		"cluster-server-gate-1 gate 127.0.0.1 0 127.0.0.1 4015",
		"chat-1 chat 127.0.0.1 7050  0",
	})
}

func TestServerInheritsFromType(t *testing.T) {
	top := mustLoad(t, "inherit.yaml", `
master:
  tokens: {area: "${SECRET}"}
servers:
  area:
    cpu: "0-1"
    restart: {policy: always, backoff: {initial: 1s, max: 2s}}
    settings: {map: town, level: 1}
    instances:
      - {id: area-1, port: 3250, settings: {area: 1, level: 5}}
      - {id: area-2, port: 3251, cpu: 1, restart: on-failure, token: own}
`, testOptions())
	a1, a2 := top.Types.Get("area").Servers[0], top.Types.Get("area").Servers[1]
	if a1.CPU.String() != "0-1" || a2.CPU.String() != "1" {
		t.Errorf("cpu: got %s and %s, want 0-1 and 1", a1.CPU, a2.CPU)
	}
	if a1.Restart.Policy != "always" || a1.Restart.Backoff.Initial.D().String() != "1s" || a2.Restart.Policy != "on-failure" || a2.Restart.Backoff.Initial.D().String() != "1s" {
		t.Errorf("restart: got %+v and %+v; an instance's restart takes what it leaves out from its type's", a1.Restart, a2.Restart)
	}
	if fmt.Sprint(a1.Settings) != "map[area:1 level:5 map:town]" || fmt.Sprint(a2.Settings) != "map[level:1 map:town]" {
		t.Errorf("settings: got %v and %v", a1.Settings, a2.Settings)
	}
	if a1.Token.Value != "s3cret" || a2.Token.Value != "own" {
		t.Errorf("tokens: got %q and %q, want the type's s3cret and the instance's own", a1.Token.Value, a2.Token.Value)
	}
}
