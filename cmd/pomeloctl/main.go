// Command pomeloctl declares, runs and steers a Pomelo-style game-server cluster
// from one YAML topology. This package only parses flags, calls the library
// packages and prints; the logic lives in topology, scripting and engine.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pomeloctl/pomeloctl/topology"
)

// version is set at build time by install.sh (-ldflags "-X main.version=...").
var version = "dev"

// Exit statuses a script can rely on.
const (
	exitOK      = 0
	exitFailure = 1 // could not do what was asked (I/O, usage, a failed command)
	exitInvalid = 2 // the topology is invalid
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, topology.ErrInvalid):
		return exitInvalid
	case errors.Is(err, errNotUp):
		return exitNotUp
	case errors.Is(err, errReported):
		return exitFailure
	case errors.Is(err, errUnreachable):
		fmt.Fprintln(cmd.ErrOrStderr(), "pomeloctl:", err)
		return exitUnreachable
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "pomeloctl:", err)
	return exitFailure
}

// errReported is returned by a command that has already told the operator what
// went wrong, so that main only sets the exit status.
var errReported = errors.New("reported")
