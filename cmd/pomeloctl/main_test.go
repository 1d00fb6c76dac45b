package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pomeloctl runs the CLI in-process and returns its exit status and output.
func pomeloctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const chat = "../../examples/chat/topology.yaml"

// chatExpr is the chat demo in YAML alone.
const chatExpr = "../../examples/chat-expr/topology.yaml"

func TestValidate(t *testing.T) {
	code, out, errOut := pomeloctl(t, "validate", chat)
	// Before install.sh has built the chat game, validate says so.
	errOut = strings.TrimSuffix(errOut, "../../examples/chat/topology.yaml:22:12: warning: servers.gate: command ./chat does not exist yet (build it before `pomeloctl up`)\n")
	if code != 0 || out != chat+": valid: 3 server types, 7 servers\n" || errOut != "" {
		t.Errorf("validate chat: got %d %q %q", code, out, errOut)
	}

	code, out, _ = pomeloctl(t, "validate", chat, "--print")
	for _, want := range []string{
		"master-server-1     master     127.0.0.1  3005  -",
		"gate-server-1       gate       127.0.0.1  -     127.0.0.1:3014  true      -    no",
		"connector-server-3  connector  127.0.0.1  4052  127.0.0.1:3052  true      -    no",
		"chat-server-1       chat       127.0.0.1  6050  -               false     -    no",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("validate --print: exit %d, want a line %q in:\n%s", code, want, out)
		}
	}

	code, out, _ = pomeloctl(t, "validate", chat, "--print", "-o", "json", "--profile", "ci", "--port-offset", "7")
	var resolved struct {
		Master  struct{ Port int }
		Servers map[string]struct {
			Instances []struct {
				ID         string
				ClientPort int
			}
		}
		Log struct{ Format string }
	}
	if err := json.Unmarshal([]byte(out), &resolved); err != nil || code != 0 {
		t.Fatalf("validate -o json: exit %d, %v\n%s", code, err, out)
	}
	if resolved.Master.Port != 3012 || resolved.Servers["gate"].Instances[0].ClientPort != 3021 || resolved.Log.Format != "json" {
		t.Errorf("--profile ci --port-offset 7: got %+v", resolved)
	}

	code, out, _ = pomeloctl(t, "validate", chat, "--print", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "\n  users:\n    - id: user-1\n      username: admin\n      password: ${POMELO_ADMIN_PASSWORD:-admin}\n") {
		t.Errorf("validate -o yaml: exit %d, secrets must print as written:\n%s", code, out)
	}
}

func TestValidateInvalid(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("servers:\n  chat:\n    instances: [{id: c1, port: 70000, clientport: 1}]\n"), 0o644)
	code, out, errOut := pomeloctl(t, "validate", bad)
	want := bad + ":3:32: servers.chat.instances[0].port: port 70000 is out of range; write a port between 1 and 65535\n" +
		bad + ":3:39: servers.chat.instances[0].clientport: unknown key \"clientport\" in servers.chat.instances[0]; did you mean \"clientPort\"?\n" +
		bad + ": 2 errors\n"
	if code != 2 || out != "" || errOut != want {
		t.Errorf("invalid topology: got exit %d\nstdout %q\nstderr:\n%s\nwant exit 2 and stderr:\n%s", code, out, errOut, want)
	}

	code, out, _ = pomeloctl(t, "validate", bad, "-o", "json")
	var report struct {
		Valid  bool
		Errors []struct {
			File      string
			Line, Col int
			Message   string
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != 2 || report.Valid || len(report.Errors) != 2 || report.Errors[0].Line != 3 {
		t.Errorf("-o json report: exit %d %v %+v", code, err, report)
	}

	for _, args := range [][]string{
		{"validate", filepath.Join(dir, "missing.yaml")},
		{"validate"},
		{"validate", chat, "-o", "xml"},
		{"validate", chat, "--profile", "nosuch"},
		{"nosuchcommand"},
	} {
		if code, _, errOut := pomeloctl(t, args...); code != 1 || errOut == "" {
			t.Errorf("pomeloctl %v: got exit %d, stderr %q; want 1 and a message", args, code, errOut)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	if code, out, _ := pomeloctl(t, "version"); code != 0 || out != "pomeloctl dev\n" {
		t.Errorf("version: got %d %q", code, out)
	}
	code, out, _ := pomeloctl(t, "--help")
	for _, want := range []string{"validate", "import", "completion", "--port-offset"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := pomeloctl(t, "completion", "bash"); code != 0 || !strings.Contains(out, "__start_pomeloctl") {
		t.Errorf("completion bash: exit %d", code)
	}
}

func TestImport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "topology.yaml")
	code, _, errOut := pomeloctl(t, "import", "../../testdata/pomelo/lordofpomelo", "-o", out)
	if code != 0 || !strings.Contains(errOut, "masterha.json:3:23: warning: standby id \"master-server-1\"") || !strings.Contains(errOut, "wrote "+out) {
		t.Fatalf("import lordofpomelo: exit %d, stderr:\n%s", code, errOut)
	}
	// lordofpomelo has masterha.json: its import declares master HA,
	// which runs, and validates.
	if code, _, errOut := pomeloctl(t, "validate", out); code != 0 {
		t.Errorf("validate the import: exit %d, %s", code, errOut)
	}
	if code, stdout, _ := pomeloctl(t, "validate", out, "-o", "json"); code != 0 || !strings.Contains(stdout, `"valid": true`) {
		t.Errorf("validate the import as JSON: exit %d, %s", code, stdout)
	}
	if code, _, errOut := pomeloctl(t, "import", "../../testdata/pomelo/lordofpomelo", "-o", out); code != 1 || !strings.Contains(errOut, "pass --force") {
		t.Errorf("import over an existing file: exit %d, %s", code, errOut)
	}

	code, stdout, _ := pomeloctl(t, "import", "../../testdata/pomelo/cluster-count", "--env", "production")
	if code != 0 || !strings.Contains(stdout, "port: 6300++, clientHost: 127.0.0.2") {
		t.Errorf("import to stdout: exit %d:\n%s", code, stdout)
	}

	code, _, errOut = pomeloctl(t, "import", "../../testdata/pomelo/pomelo-0.5-wiki/servers-cpu.json")
	if code != 1 || !strings.Contains(errOut, "servers-cpu.json:6:9: JSON syntax: expected ',' or '}'") {
		t.Errorf("import of invalid JSON: exit %d, stderr:\n%s", code, errOut)
	}
	if code, _, errOut := pomeloctl(t, "import"); code != 1 || !strings.Contains(errOut, "name a Pomelo config folder") {
		t.Errorf("import without arguments: exit %d, %s", code, errOut)
	}
}

func TestServeRefusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", chat}, "name the server to run with --id"},
		{[]string{"serve", chat, "--id", "nosuch"}, `no server "nosuch"`},
	} {
		if code, _, errOut := pomeloctl(t, tc.args...); code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("pomeloctl %v: exit %d, stderr %q; want 1 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestBenchEcho(t *testing.T) {
	code, out, errOut := pomeloctl(t, "bench", "echo", "--clients", "4", "--inflight", "2", "--duration", "500ms", "--baseline", "-o", "json")
	var results []struct {
		Name      string
		Requests  int64
		Errors    int64
		PerSecond float64
		InFlight  int
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil || code != 0 {
		t.Fatalf("bench echo: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if len(results) != 2 || results[0].Name != "echo" || results[1].Name != "bare websocket echo" {
		t.Fatalf("runs: %+v", results)
	}
	for _, r := range results {
		if r.Requests == 0 || r.Errors != 0 || r.PerSecond <= 0 || r.InFlight != 2 {
			t.Errorf("%s: %+v, want requests, no errors", r.Name, r)
		}
	}
	if code, _, errOut := pomeloctl(t, "bench", "echo", "-o", "xml"); code != 1 || !strings.Contains(errOut, "unknown output format") {
		t.Errorf("bench -o xml: exit %d %s", code, errOut)
	}
}
