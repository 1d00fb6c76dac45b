// Package launch is the contract between the master and the programs it runs
// as servers, pomeloctl itself or a game's own binary (engine.Main): the
// command line (serve TOPOLOGY|- --stdin-path FILE --id ID --port-offset N
// --profile P...), the environment ($POMELOCTL_MASTER, $POMELOCTL_TOKEN,
// $POMELOCTL_ADD, $POMELOCTL_CPUPROFILE) and standard input (the resolved
// topology). The master writes it with Spec.Args; `pomeloctl serve` and
// engine.Main read it with Parse and Spec.Load, so that the two can never
// take the same launch two ways. It imports nothing of the engine's: a
// game's binary links it without the master.
package launch

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strconv"

	"github.com/pomeloctl/pomeloctl/topology"
)

// The environment a server is started with.
const (
	// EnvMaster is the master's admin address (host:port), which the
	// server's monitor agent dials; without it the server runs alone.
	EnvMaster = "POMELOCTL_MASTER"
	// EnvToken is the server's monitor token. It travels in the environment
	// (or, over ssh, on stdin), never on the command line, where ps shows it.
	EnvToken = "POMELOCTL_TOKEN"
	// EnvAdd describes a server added at runtime (a topology.AddSpec as
	// JSON), which the topology the server reads does not declare.
	EnvAdd = "POMELOCTL_ADD"
	// EnvCPUProfile names a folder: every server started with it set writes
	// a CPU profile of its whole run there, as ID.cpu, for go tool pprof.
	EnvCPUProfile = "POMELOCTL_CPUPROFILE"
)

// Command is the first argument of a server's command line.
const Command = "serve"

// maxTopology bounds a topology read from stdin.
const maxTopology = 64 << 20

// Spec is one server's launch: which server of which topology.
type Spec struct {
	// Topology is the topology file, or "-" for one on stdin.
	Topology string
	// StdinPath, with Topology "-", is the file the topology on stdin
	// stands for: paths in it are resolved from its folder.
	StdinPath string
	// ID is the server to run.
	ID string
	// PortOffset, when not nil, shifts every port (overriding the
	// topology's portOffset).
	PortOffset *int
	// Profiles are merged over the topology, in order: names of profiles
	// (profiles/NAME.yaml beside the topology, or built in) or paths.
	Profiles []string
}

// Args is the command line that launches s, after the program.
func (s Spec) Args() []string {
	args := []string{Command, s.Topology}
	if s.StdinPath != "" {
		args = append(args, "--stdin-path", s.StdinPath)
	}
	args = append(args, "--id", s.ID)
	if s.PortOffset != nil {
		args = append(args, "--port-offset", strconv.Itoa(*s.PortOffset))
	}
	for _, p := range s.Profiles {
		args = append(args, "--profile", p)
	}
	return args
}

// Usage says how a server's command line goes.
const Usage = "serve TOPOLOGY|- [--stdin-path FILE] --id ID [--port-offset N] [--profile P]..."

// ErrUsage matches every UsageError.
var ErrUsage = errors.New("not a server's command line")

// UsageError is a command line that is not a launch, and what is wrong
// with it.
type UsageError struct{ Problem string }

func (e *UsageError) Error() string        { return e.Problem }
func (e *UsageError) Is(target error) bool { return target == ErrUsage }

func usage(format string, args ...any) error {
	return &UsageError{Problem: fmt.Sprintf(format, args...)}
}

// Parse reads a server's command line, args after the program's name.
func Parse(args []string) (Spec, error) {
	switch {
	case len(args) == 0 || args[0] != Command:
		return Spec{}, usage("the first argument must be %s", Command)
	case len(args) < 2:
		return Spec{}, usage("name the topology to serve (- for standard input)")
	}
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var s Spec
	s.Topology = args[1]
	fs.StringVar(&s.ID, "id", "", "")
	fs.StringVar(&s.StdinPath, "stdin-path", "", "")
	offset := fs.Int("port-offset", 0, "")
	fs.Func("profile", "", func(p string) error { s.Profiles = append(s.Profiles, p); return nil })
	if err := fs.Parse(args[2:]); err != nil {
		return Spec{}, usage("%v", err)
	}
	if fs.NArg() > 0 {
		return Spec{}, usage("unexpected %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "port-offset" {
			s.PortOffset = offset
		}
	})
	return s, s.Check()
}

// Check reports what the spec lacks.
func (s Spec) Check() error {
	switch {
	case s.ID == "":
		return usage("name the server to run with --id")
	case s.Topology == "-" && s.StdinPath == "":
		return usage("with TOPOLOGY -, name the file it stands for with --stdin-path")
	}
	return nil
}

// Load reads the spec's topology, from its file or from stdin, with its
// profiles (builtin holds the stock ones) and port offset.
func (s Spec) Load(stdin io.Reader, builtin fs.FS) (*topology.Topology, []topology.Warning, error) {
	opts := topology.Options{Profiles: s.Profiles, BuiltinProfiles: builtin, PortOffset: s.PortOffset}
	if s.Topology != "-" {
		return topology.Load(s.Topology, opts)
	}
	data, err := io.ReadAll(io.LimitReader(stdin, maxTopology))
	if err != nil {
		return nil, nil, fmt.Errorf("read the topology from stdin: %w", err)
	}
	return topology.LoadBytes(s.StdinPath, data, opts)
}
