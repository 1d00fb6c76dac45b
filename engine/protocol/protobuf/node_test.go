package protobuf

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pomeloProtobufVersion is the npm release Pomelo 2.2.7 depends on.
const pomeloProtobufVersion = "0.4.0"

// installPomeloProtobuf installs npm's pomelo-protobuf into a temporary
// directory and returns that directory (it holds node_modules). The interop
// tests are the proof that this package speaks pomelo-protobuf, so a missing
// node or npm, or an unreachable registry, fails them rather than skipping.
func installPomeloProtobuf(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the interop tests need %s (Node 20 with npm) on PATH to run pomelo-protobuf: %v", tool, err)
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir,
		"pomelo-protobuf@"+pomeloProtobufVersion)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install pomelo-protobuf@%s failed (is the npm registry reachable?): %v\n%s",
			pomeloProtobufVersion, err, out)
	}
	return dir
}

// jsCase is one question for testdata/pbjs.js; see the script for the ops.
type jsCase struct {
	Op     string  `json:"op"`
	Text   string  `json:"text,omitempty"`
	Protos string  `json:"protos,omitempty"`
	Route  string  `json:"route,omitempty"`
	Msg    string  `json:"msg,omitempty"`
	Hex    string  `json:"hex,omitempty"`
	Client *string `json:"client,omitempty"`
	Server *string `json:"server,omitempty"`
}

// jsResult is pbjs.js's answer to one case.
type jsResult struct {
	JSON      *string `json:"json"`
	Hex       *string `json:"hex"`
	Version   string  `json:"version"`
	Handshake string  `json:"handshake"`
	Error     string  `json:"error"`
}

// jsBatch collects cases so that one Node process answers them all.
type jsBatch struct {
	cases []jsCase
}

// add queues c and returns where its answer will be.
func (b *jsBatch) add(c jsCase) int {
	b.cases = append(b.cases, c)
	return len(b.cases) - 1
}

// run answers every queued case with pomelo-protobuf installed in dir.
func (b *jsBatch) run(t *testing.T, dir string) []jsResult {
	t.Helper()
	req, err := json.Marshal(map[string]any{"cases": b.cases})
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "pbjs.js"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, dir)
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.Bytes())
	}
	var res []jsResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("node %s printed something that is not a JSON array of results: %v\n%s", script, err, stdout.Bytes())
	}
	if len(res) != len(b.cases) {
		t.Fatalf("node answered %d cases of %d", len(res), len(b.cases))
	}
	return res
}
