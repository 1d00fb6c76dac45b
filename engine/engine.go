// Package engine is where a game written with the Go API starts: its main
// package builds a server.App with its handlers, remotes and routers for
// every server type, and calls Main. The master runs that program as the
// servers' `command`, with the arguments and environment `pomeloctl
// serve` gets (engine/launch, docs/cluster.md), so one binary serves every
// server type. A game's binary links the server, not the master.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/pomeloctl/pomeloctl/engine/launch"
	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/profiles"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Main runs one server of the cluster with app's code, as the master asks
// (launch.Spec.Args: `PROGRAM serve - --stdin-path TOPOLOGY --id ID
// --port-offset N`), and exits: 0 after a graceful stop, 1 on failure, 2
// for bad arguments or an invalid topology. `PROGRAM validate TOPOLOGY
// [--profile P]... [--port-offset N]` checks the topology with app's code
// instead, as pomeloctl validate does without it: every server's plan.
func Main(app *server.App) {
	os.Exit(run(os.Args[1:], app, os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, app *server.App, stdin io.Reader, stdout, stderr io.Writer) int {
	prog := filepath.Base(os.Args[0])
	if len(args) > 0 && args[0] == "validate" {
		return validate(prog, args[1:], app, stdout, stderr)
	}
	spec, err := launch.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\nusage: %s %s\n       %s validate TOPOLOGY [--profile P]... [--port-offset N]\n(pomeloctl up runs servers with the first)\n", prog, err, prog, launch.Usage, prog)
		return 2
	}
	t, warnings, err := spec.Load(stdin, profiles.FS)
	for _, w := range warnings {
		fmt.Fprintln(stderr, w.String())
	}
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Serve(ctx, t, spec.ID, app, stderr); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 1
	}
	return 0
}

// validate checks a topology with app's code: what pomeloctl validate
// checks, and what only the game knows (a route or a router declared both
// in the topology and in Go). It exits as pomeloctl validate does: 0
// valid, 2 invalid, 1 when the file cannot be read.
func validate(prog string, args []string, app *server.App, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts topology.Options
	fs.Func("profile", "merge a profile over the topology (repeat to stack)", func(p string) error {
		opts.Profiles = append(opts.Profiles, p)
		return nil
	})
	offset := fs.Int("port-offset", 0, "shift every port by N")
	// Flags may come before the topology or after it.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "usage: %s validate TOPOLOGY [--profile P]... [--port-offset N]\n", prog)
		return 2
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "port-offset" {
			opts.PortOffset = offset
		}
	})
	opts.BuiltinProfiles = profiles.FS
	file := files[0]
	t, warnings, err := topology.Load(file, opts)
	for _, w := range warnings {
		fmt.Fprintln(stderr, w.String())
	}
	if err == nil {
		err = server.Check(t, app)
	}
	var list topology.ErrorList
	switch {
	case errors.As(err, &list):
		fmt.Fprintln(stderr, list.Error())
		errs := "errors"
		if len(list) == 1 {
			errs = "error"
		}
		fmt.Fprintf(stderr, "%s: %d %s\n", file, len(list), errs)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid for %s: %d server types, %d servers\n", file, prog, len(t.Types), len(t.AllServers()))
	return 0
}

// Serve runs server id of t with app's code until ctx ends, linked to the
// master the environment names (launch.EnvMaster, launch.EnvToken; alone
// without them), logging to w as the topology's log section says. A server
// added at runtime, which t does not declare, is described by
// launch.EnvAdd.
func Serve(ctx context.Context, t *topology.Topology, id string, app *server.App, w io.Writer) error {
	// A server on another host writes its log through the master's ssh
	// client: when that host goes, the server runs on (for the next leader)
	// rather than die of the broken pipe at its next line.
	signal.Ignore(syscall.SIGPIPE)
	if add := os.Getenv(launch.EnvAdd); add != "" && t.Server(id) == nil {
		var spec topology.AddSpec
		if err := json.Unmarshal([]byte(add), &spec); err != nil {
			return fmt.Errorf("$%s: %w", launch.EnvAdd, err)
		}
		s, err := t.NewServer(spec, topology.ThisMachine())
		if err != nil {
			return fmt.Errorf("server %s added at runtime: %w", id, err)
		}
		t.AddServer(s)
	}
	if dir := os.Getenv(launch.EnvCPUProfile); dir != "" {
		stop, err := cpuProfile(dir, id)
		if err != nil {
			return err
		}
		defer stop()
	}
	return server.Run(ctx, server.Config{
		Topology: t,
		ID:       id,
		Master:   os.Getenv(launch.EnvMaster),
		Token:    os.Getenv(launch.EnvToken),
		App:      app,
		Logger:   slog.New(LogHandler(t, w, slog.LevelDebug)),
	})
}

// cpuProfile starts profiling the process into dir/id.cpu.
func cpuProfile(dir, id string) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, id+".cpu"))
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", launch.EnvCPUProfile, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("$%s: %w", launch.EnvCPUProfile, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// LogHandler writes records of the topology's log level, and at least
// floor, in its format (text or json).
func LogHandler(t *topology.Topology, w io.Writer, floor slog.Level) slog.Handler {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(t.Log.Level)))
	opts := &slog.HandlerOptions{Level: max(level, floor)}
	if t.Log.Format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}
