// Package testbin builds the pomeloctl program for tests that run it as
// real processes (the master, and the servers it launches).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds the main package at pkg (a path relative to the calling
// test's folder) into a new temporary folder and returns the program's
// path. Callers build once per test binary (sync.Once) and may leave the
// folder: it is the size of one binary.
func Build(pkg string) (string, error) {
	dir, err := os.MkdirTemp("", "pomeloctl-test-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pomeloctl")
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// Link makes dir/name a symbolic link to bin: a game's program where a
// topology copied into dir names it (command: ./chat).
func Link(bin, dir, name string) error {
	return os.Symlink(bin, filepath.Join(dir, name))
}
