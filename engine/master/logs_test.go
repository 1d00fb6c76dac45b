package master

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.log")
	var b strings.Builder
	for i := range 100 {
		b.WriteString(strings.Repeat("x", i) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	size := int64(b.Len())
	tail, err := TailLog(path, 3)
	if err != nil || tail != strings.Repeat("x", 97)+"\n"+strings.Repeat("x", 98)+"\n"+strings.Repeat("x", 99)+"\n" {
		t.Errorf("the last 3 lines: %q %v", tail, err)
	}
	all, err := TailLog(path, 1000)
	if err != nil || all != b.String() {
		t.Errorf("more lines than the file has: %d bytes, %v", len(all), err)
	}
	c, err := readLog(path, size-3, 0)
	if err != nil || c.Data != "xx\n" || c.Next != size {
		t.Errorf("from an offset: %+v %v", c, err)
	}
	c, err = readLog(path, size+10, 0)
	if err != nil || c.Data != b.String() || c.Next != size {
		t.Errorf("past the end (a truncated file) starts over: next %d, %v", c.Next, err)
	}
	if out, err := TailLog(filepath.Join(t.TempDir(), "none.log"), 5); out != "" || err != nil {
		t.Errorf("no log yet: %q %v", out, err)
	}
	// A last line without a newline counts as a line.
	if err := os.WriteFile(path, []byte("a\nb\nc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tail, _ := TailLog(path, 2); tail != "b\nc" {
		t.Errorf("an unfinished last line: %q", tail)
	}
}

func TestRunDirTokensAndRecords(t *testing.T) {
	d := RunDir(t.TempDir())
	toks, err := d.tokens([]string{"gate", "chat"})
	if err != nil || len(toks["gate"]) != 32 || toks["gate"] == toks["chat"] {
		t.Fatalf("tokens: %v %v", toks, err)
	}
	again, err := d.tokens([]string{"gate", "chat", "area"})
	if err != nil || again["gate"] != toks["gate"] || again["area"] == "" {
		t.Errorf("a later master keeps the tokens: %v %v", again, err)
	}
	fi, err := os.Stat(filepath.Join(string(d), "tokens.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("tokens.json: %v %v", fi.Mode(), err)
	}
	for _, r := range []ServerRecord{{ID: "b", Pid: 2}, {ID: "a", Pid: 1}} {
		if err := d.writeServer(r); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := d.Servers()
	if err != nil || len(recs) != 2 || recs[0].ID != "a" {
		t.Errorf("records: %+v %v", recs, err)
	}
	if err := d.clear(); err != nil {
		t.Fatal(err)
	}
	if recs, _ := d.Servers(); len(recs) != 0 {
		t.Errorf("after clear: %+v", recs)
	}
	if err := os.WriteFile(filepath.Join(string(d), "master.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Master(); err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Errorf("a damaged record: %v", err)
	}
}
