package pomelo

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pomeloctl/pomeloctl/topology"
)

// addFixtures seeds a fuzz corpus with every JSON file of the Pomelo fixtures.
func addFixtures(f *testing.F) {
	files, err := filepath.Glob("../../testdata/pomelo/*/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`{"development": {"gate": [{"id": "g", "clientPort": "3014", "frontend": "true"}]}, "comments": ["x"]}`,
		`{"c": [{"host": "h", "port": "6300++", "clientPort": "6200++", "clusterCount": 2, "id": "x", "area": "1++"}]}`,
		`{"a": [{"id": "a-1", "port": 1, "wsPort": 2, "args": "--debug", "max-connections": "10", "cpu": "0-3", "auto-restart": true, "restart-force": "true", "token": "${T}", "x": {"y": [1.5, null, 1e400]}}]}`,
		"\uFEFF{\"a\": \"\\ud83d\\ude00\\ud800\"}",
		`[1, 2,]`, `{"a" 1}`, `01`, `"\u12"`, `[[[[`,
	} {
		f.Add([]byte(s))
	}
}

// toAny converts a parsed value to what encoding/json decodes the same text to.
func toAny(v *value) any {
	switch v.kind {
	case nullKind:
		return nil
	case boolKind:
		return v.text == "true"
	case numberKind:
		return json.Number(v.text)
	case stringKind:
		return v.text
	case arrayKind:
		out := []any{}
		for _, item := range v.items {
			out = append(out, toAny(item))
		}
		return out
	}
	out := map[string]any{}
	for _, m := range v.members {
		out[m.key] = toAny(m.val)
	}
	return out
}

// FuzzParseJSON checks the parser against encoding/json: both accept the same
// documents (but for the depth limit, which is lower here, and a byte-order mark,
// which Node's require strips), and read them to the same values.
func FuzzParseJSON(f *testing.F) {
	addFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, _, err := parseJSON("f.json", data)
		body := bytes.TrimPrefix(data, []byte(bom))
		valid := json.Valid(body)
		if err != nil {
			var te *topology.Error
			if !errors.As(err, &te) {
				t.Fatalf("parse %q: error %T %v, want a *topology.Error", data, err, err)
			}
			if te.Pos.File != "f.json" || (te.Pos.Line < 1 && !strings.Contains(te.Msg, "empty")) || (te.Pos.Line >= 1 && te.Pos.Col < 1) {
				t.Fatalf("parse %q: error at %v, want a line and column", data, te.Pos)
			}
			if valid && !strings.Contains(te.Msg, "nested deeper than") {
				t.Fatalf("parse %q: %v, but encoding/json accepts it", data, err)
			}
			return
		}
		if !valid {
			t.Fatalf("parse %q: accepted, but encoding/json refuses it", data)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json decode %q: %v", data, err)
		}
		if got := toAny(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("parse %q:\ngot  %#v\nwant %#v", data, got, want)
		}
	})
}

// FuzzImport imports whatever servers.json the fuzzer writes: it must never
// panic, and what it accepts must come out as well-formed YAML.
func FuzzImport(f *testing.F) {
	addFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, serversFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Import([]string{dir}, Options{Out: filepath.Join(dir, "topology.yaml")})
		if err != nil {
			var list topology.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("import %q: error %T %v, want a topology.ErrorList", data, err, err)
			}
			return
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(res.YAML, &doc); err != nil {
			t.Fatalf("import %q: the YAML does not parse: %v\n%s", data, err, res.YAML)
		}
		for _, w := range res.Warnings {
			if w.Pos.File == "" {
				t.Fatalf("import %q: a warning without its file: %v", data, w)
			}
		}
	})
}
