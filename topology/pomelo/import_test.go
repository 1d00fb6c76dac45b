package pomelo

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pomeloctl/pomeloctl/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files of the fixture imports")

const fixtures = "../../testdata/pomelo"

// warningLines renders warnings one a line, with the fixtures folder cut from
// their file names.
func warningLines(ws []topology.Warning, dir string) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(strings.ReplaceAll(w.String(), dir+string(filepath.Separator), ""))
		b.WriteByte('\n')
	}
	return b.String()
}

// golden compares got with the golden file, or rewrites it under -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./topology/pomelo -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

func TestImportGolden(t *testing.T) {
	tests := []struct{ name, env string }{
		{"lordofpomelo", ""},
		{"chatofpomelo-websocket", ""},
		{"cluster-count", "production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(fixtures, tt.name+".golden.yaml")
			res, err := Import([]string{filepath.Join(fixtures, tt.name)}, Options{Env: tt.env, Out: out})
			if err != nil {
				t.Fatalf("import %s: %v", tt.name, err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(res.YAML, &doc); err != nil {
				t.Fatalf("import %s: the YAML does not parse: %v", tt.name, err)
			}
			golden(t, out, string(res.YAML))
			golden(t, filepath.Join(fixtures, tt.name+".warnings.golden"), warningLines(res.Warnings, fixtures))
		})
	}
}

// imported is the part of an imported topology the tests look into.
type imported struct {
	Name   string
	Master struct {
		ID     string
		Port   int
		Users  []map[string]any
		Tokens map[string]string
	}
	HA struct {
		Zookeeper []string
		Path      string
		Standbys  []struct {
			ID   string
			Port int
		}
	}
	Dictionary []string
	Protos     map[string]string
	Servers    yaml.Node
}

// types lists the server types in file order, with each one's YAML.
func (im *imported) types() ([]string, map[string]*yaml.Node) {
	var names []string
	nodes := map[string]*yaml.Node{}
	for i := 0; i+1 < len(im.Servers.Content); i += 2 {
		names = append(names, im.Servers.Content[i].Value)
		nodes[im.Servers.Content[i].Value] = im.Servers.Content[i+1]
	}
	return names, nodes
}

// importedType is one server type of an imported topology.
type importedType struct {
	Frontend  bool
	Restart   any
	Connector map[string]int
	Instances []struct {
		ID       string
		Port     int
		CPU      any
		Restart  any
		Settings map[string]any
	}
	Cluster []map[string]any
}

func importFixture(t *testing.T, name string, opts Options) (*imported, []string, map[string]importedType) {
	t.Helper()
	res, err := Import([]string{filepath.Join(fixtures, name)}, opts)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	var im imported
	if err := yaml.Unmarshal(res.YAML, &im); err != nil {
		t.Fatalf("import %s: %v\n%s", name, err, res.YAML)
	}
	names, nodes := im.types()
	types := map[string]importedType{}
	for name, n := range nodes {
		var st importedType
		if err := n.Decode(&st); err != nil {
			t.Fatalf("type %s: %v", name, err)
		}
		types[name] = st
	}
	return &im, names, types
}

func TestImportLordOfPomelo(t *testing.T) {
	im, names, types := importFixture(t, "lordofpomelo", Options{Out: filepath.Join(fixtures, "x.yaml")})
	if want := []string{"connector", "area", "chat", "path", "auth", "gate", "manager"}; !slices.Equal(names, want) {
		t.Errorf("server types: got %v, want %v (file order)", names, want)
	}
	area := types["area"].Instances
	if len(area) != 6 || area[0].Settings["area"] != 1 || area[5].ID != "instance-server-3" || area[5].Settings["instance"] != true {
		t.Errorf("area instances: got %+v, want area-server-1 with settings area: 1 ... instance-server-3 with instance: true", area)
	}
	if !types["connector"].Frontend || !types["gate"].Frontend || types["area"].Frontend {
		t.Errorf("frontends: got connector %t, gate %t, area %t; want true, true, false", types["connector"].Frontend, types["gate"].Frontend, types["area"].Frontend)
	}
	sb := im.HA.Standbys
	if len(sb) != 2 || sb[0].ID == sb[1].ID || sb[0].ID == im.Master.ID || sb[0].Port != 3006 || sb[1].Port != 3007 {
		t.Errorf("standbys: got %+v with master %s, want two distinct ids on 3006 and 3007", sb, im.Master.ID)
	}
	if !slices.Equal(im.HA.Zookeeper, []string{topology.DefaultZookeeper}) || im.HA.Path != topology.DefaultHAPath {
		t.Errorf("ha: got %v %s, want Pomelo's defaults", im.HA.Zookeeper, im.HA.Path)
	}
	if len(im.Master.Tokens) != 7 {
		t.Errorf("tokens: got %d (%v), want 7", len(im.Master.Tokens), im.Master.Tokens)
	}
	if len(im.Master.Users) != 3 || im.Master.Users[0]["username"] != "admin" || im.Master.Users[1]["level"] != 2 {
		t.Errorf("users: got %v, want admin (1), monitor (2), test (2)", im.Master.Users)
	}
	if len(im.Dictionary) != 10 || im.Dictionary[0] != "onDropItem" {
		t.Errorf("dictionary: got %v, want the 10 routes from onDropItem", im.Dictionary)
	}
	if im.Protos["server"] != "lordofpomelo/serverProtos.json" || im.Protos["client"] != "lordofpomelo/clientProtos.json" {
		t.Errorf("protos: got %v, want paths relative to the output's folder", im.Protos)
	}
	if im.Name != "lordofpomelo" {
		t.Errorf("name: got %q, want lordofpomelo", im.Name)
	}
}

func TestImportChatOfPomelo(t *testing.T) {
	im, names, types := importFixture(t, "chatofpomelo-websocket", Options{})
	if want := []string{"connector", "chat", "gate"}; !slices.Equal(names, want) {
		t.Errorf("server types: got %v, want %v", names, want)
	}
	if len(types["connector"].Instances) != 3 || len(types["chat"].Instances) != 3 {
		t.Errorf("instances: got %d connectors and %d chat servers, want 3 and 3", len(types["connector"].Instances), len(types["chat"].Instances))
	}
	// Its dictionary.json and clientProtos.json are {}: nothing to declare.
	if im.Dictionary != nil || im.Protos["client"] != "" {
		t.Errorf("dictionary %v, client protos %q: want none", im.Dictionary, im.Protos["client"])
	}
	// Without Out the topology goes to standard output, and names files absolutely.
	want, _ := filepath.Abs(filepath.Join(fixtures, "chatofpomelo-websocket", "serverProtos.json"))
	if im.Protos["server"] != want {
		t.Errorf("server protos: got %q, want %q", im.Protos["server"], want)
	}
}

func TestImportClusterCount(t *testing.T) {
	_, names, types := importFixture(t, "cluster-count", Options{Env: "production"})
	if want := []string{"gate", "connector", "game"}; !slices.Equal(names, want) {
		t.Errorf("server types: got %v, want %v", names, want)
	}
	conn := types["connector"].Cluster
	if len(conn) != 2 || conn[0]["count"] != 8 || conn[0]["port"] != "6300++" || conn[0]["clientPort"] != "6200++" || conn[1]["host"] != "127.0.0.2" {
		t.Errorf("connector clusters: got %v, want two groups of 8 from 6300++/6200++ on 127.0.0.1 and 127.0.0.2", conn)
	}
	if gate := types["gate"].Cluster; len(gate) != 1 || gate[0]["clientPort"] != "6150++" || gate[0]["port"] != nil {
		t.Errorf("gate cluster: got %v, want one group from clientPort 6150++ without an RPC port", gate)
	}
	game := types["game"].Instances
	if len(game) != 2 {
		t.Fatalf("game instances: got %+v, want 2", game)
	}
	if game[0].ID != "game-server-1" || game[0].CPU != 1 || game[0].Restart != "on-failure" {
		t.Errorf("game-server-1: got %+v, want cpu 1, restart on-failure", game[0])
	}
	if r, ok := game[1].Restart.(map[string]any); !ok || r["policy"] != "on-failure" || r["force"] != true {
		t.Errorf("game-server-2 restart: got %v, want {policy: on-failure, force: true}", game[1].Restart)
	}
}

// TestImportPomelo05Wiki imports the servers.json examples of Pomelo 0.5's release
// notes, which lack the commas between server types.
func TestImportPomelo05Wiki(t *testing.T) {
	tests := []struct{ file, want string }{
		{"servers-auto-restart.json", `servers-auto-restart.json:6:9: JSON syntax: expected ',' or '}' after the member "connector" that ends at 5:10, found "chat"; a comma is missing after 5:10`},
		{"servers-cpu.json", `servers-cpu.json:6:9: JSON syntax: expected ',' or '}' after the member "connector" that ends at 5:10, found "chat"; a comma is missing after 5:10`},
	}
	for _, tt := range tests {
		path := filepath.Join(fixtures, "pomelo-0.5-wiki", tt.file)
		_, err := Import([]string{path}, Options{})
		var list topology.ErrorList
		if !errors.As(err, &list) || len(list) != 1 {
			t.Fatalf("import %s: got %v, want one positioned error", path, err)
		}
		want := filepath.Join(fixtures, "pomelo-0.5-wiki", tt.want)
		if got := err.Error(); got != want {
			t.Errorf("import %s:\ngot  %s\nwant %s", path, got, want)
		}
		if p := list[0].Pos; p.Line != 6 || p.Col != 9 {
			t.Errorf("import %s: error at %v, want 6:9", path, p)
		}
	}
}
