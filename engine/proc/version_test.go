package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgramVersion: a Go program is named by its build ID (the same
// program built twice is the same version, a changed one is not), any
// other file by its content.
func TestProgramVersion(t *testing.T) {
	dir := t.TempDir()
	build := func(name, body string) string {
		src := filepath.Join(dir, name+".go")
		if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println("+body+") }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, src)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		return out
	}
	version := func(path string) string {
		v, err := ProgramVersion(path)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a1 := version(build("a", `"one"`))
	if !strings.HasPrefix(a1, "go:") || len(a1) != len("go:")+12 {
		t.Errorf("a Go program's version is %q, want go: and 12 hex digits", a1)
	}
	if a2 := version(build("a", `"one"`)); a2 != a1 {
		t.Errorf("the same program built again: %s, then %s", a1, a2)
	}
	if b := version(build("a", `"two"`)); b == a1 {
		t.Errorf("a changed program keeps version %s", b)
	}
	script := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s1 := version(script)
	if !strings.HasPrefix(s1, "sha256:") {
		t.Errorf("a script's version is %q, want sha256:…", s1)
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho ho\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if s2 := version(script); s2 == s1 {
		t.Errorf("a changed script keeps version %s", s2)
	}
	if _, err := ProgramVersion(filepath.Join(dir, "missing")); err == nil {
		t.Error("no error for a missing program")
	}
}
