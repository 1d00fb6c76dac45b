package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/scripting"
)

// A game's binary validates a topology with its own code: what only the
// game knows (a type it routes in Go that the topology routes too) is an
// error at the topology's line, and the rest is what pomeloctl validate
// says.
func TestMainValidates(t *testing.T) {
	app := server.NewApp()
	app.Route("chat", func(env scripting.RouterEnv) (scripting.Server, error) { return env.Servers[0], nil })
	data, err := os.ReadFile("../examples/chat/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"plain.yaml":  string(data),
		"routed.yaml": strings.Replace(string(data), "  chat:\n", "  chat:\n    router: 'servers[0]'\n", 1),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "serverProtos.json"), mustRead(t, "../examples/chat/serverProtos.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "web"), 0o755); err != nil { // the folder its web section serves
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", filepath.Join(dir, "plain.yaml")}, app, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "valid for") {
		t.Errorf("the chat topology: exit %d, %q %q", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code := run([]string{"validate", filepath.Join(dir, "routed.yaml"), "--port-offset", "100"}, app, nil, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "routed.yaml:53:13: servers.chat.router: the game's Go code routes chat too (App.Route); keep one of the two") || !strings.Contains(errOut.String(), ": 1 error\n") {
		t.Errorf("a type routed twice: exit %d, %q", code, errOut.String())
	}
	if code := run([]string{"validate"}, app, nil, &out, &errOut); code != 2 {
		t.Errorf("validate with no topology: exit %d", code)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
