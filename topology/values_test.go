package topology

import (
	"testing"
)

func TestParseCPUSet(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "2", want: "2"},
		{in: "0-3", want: "0-3"},
		{in: "3,0-1, 7", want: "0-1,3,7"},
		{in: "1,1,0-1", want: "0-1"},
		{in: "3-1", err: `"3-1" is not a CPU range (write low-high, e.g. 0-3)`},
		{in: "x", err: `"x" is not a CPU number`},
		{in: "", err: `"" is not a CPU number`},
		{in: "-1", err: `"-1" is not a CPU number`},
		{in: "0-100000", err: "CPU 100000 is beyond any machine's CPUs"},
	} {
		got, err := ParseCPUSet(tc.in)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("ParseCPUSet(%q): got error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got.String() != tc.want):
			t.Errorf("ParseCPUSet(%q): got %v (%v), want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestExpandEnv(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"A": "alpha", "EMPTY": ""}[name]
		return v, ok
	}
	for _, tc := range []struct{ in, want, err string }{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "x-${A}-${B:-beta}-$y", want: "x-alpha-beta-$y"},
		{in: "${EMPTY:-dflt}", want: "dflt"}, // as in the shell, empty takes the default
		{in: "${EMPTY}", want: ""},
		{in: "${B:-}", want: ""},
		{in: "${B}", err: "environment variable B is not set"},
		{in: "${A", err: `"${A" opens ${ without a closing }`},
		{in: "${1X}", err: `"1X" is not an environment variable name`},
	} {
		got, err := expandEnv(tc.in, env)
		switch {
		case tc.err != "" && (err == nil || err.msg != tc.err):
			t.Errorf("expandEnv(%q): got error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("expandEnv(%q): got %q (%v), want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	top := mustLoad(t, "anchors.yaml", `
servers:
  chat:
    <<: &backend
      restart: on-failure
      settings: {zone: eu}
    settings: {zone: us}
    instances: [{id: chat-1, port: 6050}]
  area:
    <<: *backend
    instances: [{id: area-1, port: 6060}]
`, testOptions())
	chat, area := top.Types.Get("chat").Servers[0], top.Types.Get("area").Servers[0]
	if chat.Restart.Policy != "on-failure" || chat.Settings["zone"] != "us" {
		t.Errorf("chat: got restart %s settings %v, want on-failure and its own zone us", chat.Restart.Policy, chat.Settings)
	}
	if area.Restart.Policy != "on-failure" || area.Settings["zone"] != "eu" {
		t.Errorf("area: got restart %s settings %v, want on-failure and zone eu", area.Restart.Policy, area.Settings)
	}
}

func TestDefaultsSection(t *testing.T) {
	top := mustLoad(t, "defaults.yaml", `
defaults:
  restart: always
  connector: {heartbeat: 10s}
servers:
  gate: {frontend: true, instances: [{id: gate-1, clientPort: 3014}]}
  connector:
    frontend: true
    restart: "no"
    connector: {heartbeat: 3s}
    instances: [{id: c-1, port: 4050, clientPort: 3050}]
  chat: {instances: [{id: chat-1, port: 6050}]}
`, testOptions())
	for _, tc := range []struct {
		typ, restart string
		heartbeat    string
	}{{"gate", "always", "10s"}, {"connector", "no", "3s"}, {"chat", "always", ""}} {
		st := top.Types.Get(tc.typ)
		hb := ""
		if st.Connector != nil {
			hb = st.Connector.Heartbeat.D().String()
		}
		if st.Restart.Policy != tc.restart || hb != tc.heartbeat {
			t.Errorf("%s: got restart %s heartbeat %q, want %s %q", tc.typ, st.Restart.Policy, hb, tc.restart, tc.heartbeat)
		}
	}
}
