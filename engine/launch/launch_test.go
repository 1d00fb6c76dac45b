package launch

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// What the master writes, a server reads back the same.
func TestArgsParseBack(t *testing.T) {
	offset := 20000
	for _, s := range []Spec{
		{Topology: "-", StdinPath: "/srv/game/topology.yaml", ID: "chat-server-1", PortOffset: &offset},
		{Topology: "topology.yaml", ID: "gate-server-1", Profiles: []string{"ci", "local.yaml"}},
	} {
		got, err := Parse(s.Args())
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", s.Args(), got, err, s)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "the first argument must be serve"},
		{[]string{"run", "t.yaml", "--id", "x"}, "the first argument must be serve"},
		{[]string{"serve"}, "name the topology"},
		{[]string{"serve", "t.yaml"}, "name the server to run with --id"},
		{[]string{"serve", "-", "--id", "x"}, "with TOPOLOGY -, name the file it stands for with --stdin-path"},
		{[]string{"serve", "t.yaml", "--id", "x", "--nosuch"}, "nosuch"},
		{[]string{"serve", "t.yaml", "--id", "x", "--port-offset", "many"}, "many"},
		{[]string{"serve", "t.yaml", "--id", "x", "extra"}, `unexpected "extra"`},
	} {
		_, err := Parse(tc.args)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v; want a usage error saying %q", tc.args, err, tc.want)
		}
	}
}

// A topology on stdin stands for the file it names, and takes the stock
// profiles by name, as one read from its file does.
func TestLoadFromStdinWithABuiltInProfile(t *testing.T) {
	topology := "master: {host: 127.0.0.1, port: 3005}\nservers:\n  chat:\n    instances: [{id: chat-server-1, host: 127.0.0.1, port: 6050}]\n"
	builtin := fstest.MapFS{"shift.yaml": {Data: []byte("portOffset: 100\n")}}
	s := Spec{Topology: "-", StdinPath: "/srv/game/topology.yaml", ID: "chat-server-1", Profiles: []string{"shift"}}
	top, _, err := s.Load(strings.NewReader(topology), builtin)
	if err != nil {
		t.Fatal(err)
	}
	if top.File != "/srv/game/topology.yaml" || top.Server("chat-server-1").Port != 6150 {
		t.Errorf("loaded %s with chat-server-1 on %d; want the stdin path and port 6150", top.File, top.Server("chat-server-1").Port)
	}
}
