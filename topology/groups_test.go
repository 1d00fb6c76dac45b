package topology

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const grouped = `
name: g
groups:
  blue: {hosts: [10.0.0.11, 10.0.0.12]}
  green: {hosts: [10.0.0.13]}
servers:
  gate:
    frontend: true
    group: edge
    instances:
      - {id: gate-1, host: 10.0.0.11, clientPort: 3014}
  connector:
    frontend: true
    instances:
      - {id: connector-1, host: 10.0.0.11, port: 4050, clientPort: 3050}
      - {id: connector-2, host: 10.0.0.13, port: 4050, clientPort: 3050}
      - {id: connector-3, host: 10.0.0.13, port: 4051, clientPort: 3051, group: blue}
    cluster: {count: 2, host: 10.0.0.12, port: "4060++", clientPort: "3060++", group: green}
  chat:
    instances:
      - {id: chat-1, host: 10.0.0.14, port: 6050}
`

// TestGroups: a server's group is its instance's or cluster group's, else
// its type's, else its host's, else none.
func TestGroups(t *testing.T) {
	top := mustLoad(t, "g.yaml", grouped, testOptions())
	want := map[string]string{
		"gate-1":                     "edge",  // its type's, over its host's blue
		"connector-1":                "blue",  // its host's
		"connector-2":                "green", // its host's
		"connector-3":                "blue",  // its own, over its host's green
		"cluster-server-connector-0": "green", // its cluster group's, over its host's blue
		"chat-1":                     "",      // a host in no group
	}
	for id, g := range want {
		if s := top.Server(id); s == nil || s.Group != g {
			t.Errorf("%s: group %q, want %q", id, s.Group, g)
		}
	}
	if got := top.GroupNames(); !slices.Equal(got, []string{"edge", "blue", "green"}) {
		t.Errorf("group names %v, want edge, blue, green (as servers first name them)", got)
	}
}

// TestFingerprint: the same topology gives the same fingerprint; a change
// is named by the part it is in; a server's group, another server's
// settings and what only the tools read are no part of it.
func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	protos := filepath.Join(dir, "serverProtos.json")
	if err := os.WriteFile(protos, []byte(`{"onChat": {"required string msg": 1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(src string) *Topology {
		t.Helper()
		return mustLoad(t, filepath.Join(dir, "topology.yaml"), src, testOptions())
	}
	base := grouped + "protos: {server: serverProtos.json}\n"
	fp := func(top *Topology, id string) Fingerprint { return top.Fingerprint(top.Server(id)) }
	a := fp(load(base), "connector-1")
	if b := fp(load(base), "connector-1"); b.Digest != a.Digest || len(b.Changed(a)) != 0 {
		t.Fatalf("the same topology: %s then %s (%v)", a.Digest, b.Digest, b.Changed(a))
	}
	for _, tc := range []struct {
		name, from, to string
		want           []string // the parts that change; none: the same digest
	}{
		{"its type's heartbeat", "    frontend: true\n    instances:\n      - {id: connector-1", "    frontend: true\n    connector: {heartbeat: 9s}\n    instances:\n      - {id: connector-1", []string{"type.connector"}},
		{"its port", "port: 4050, clientPort: 3050}\n      - {id: connector-2", "port: 4055, clientPort: 3050}\n      - {id: connector-2", []string{"server.port"}},
		{"a cluster-wide filter", "servers:\n", "filters: {before: [{name: toobusy}]}\nservers:\n", []string{"filters"}},
		{"its group", "      - {id: connector-1, host: 10.0.0.11,", "      - {id: connector-1, group: red, host: 10.0.0.11,", nil},
		{"another server's port", "{id: connector-2, host: 10.0.0.13, port: 4050", "{id: connector-2, host: 10.0.0.13, port: 4059", nil},
		{"a smoke section", "servers:\n", "smoke: {scenarios: [{name: a, login: {frontend: gate}, steps: [{sleep: 1s}]}]}\nservers:\n", nil},
		{"a type's token", "servers:\n", "master: {tokens: {connector: abc}}\nservers:\n", []string{"secrets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.from, tc.to, 1)
			if src == base {
				t.Fatalf("%q is not in the topology", tc.from)
			}
			b := fp(load(src), "connector-1")
			if got := b.Changed(a); !slices.Equal(got, tc.want) {
				t.Errorf("changed parts %v, want %v", got, tc.want)
			}
			if (b.Digest == a.Digest) != (len(tc.want) == 0) {
				t.Errorf("digest %s, before %s; want them the same only when no part changed", b.Digest, a.Digest)
			}
		})
	}
	if err := os.WriteFile(protos, []byte(`{"onChat": {"required string text": 1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := fp(load(base), "connector-1").Changed(a); !slices.Equal(got, []string{"protos"}) {
		t.Errorf("a protos file changed on disk: changed parts %v, want [protos]", got)
	}
}
