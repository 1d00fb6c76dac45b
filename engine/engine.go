// Package engine is where a game written with the Go API starts: its main
// package builds a server.App with its handlers, remotes and routers for
// every server type, and calls Main. The master runs that program as the
// servers' `command`, with the arguments and environment `pomeloctl
// serve` gets (docs/cluster.md), so one binary serves every server type.
package engine

import (
	"context"
	"encoding/json"
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

	"github.com/pomeloctl/pomeloctl/engine/master"
	"github.com/pomeloctl/pomeloctl/engine/server"
	"github.com/pomeloctl/pomeloctl/topology"
)

// Main runs one server of the cluster with app's code, as the master asks
// (`PROGRAM serve - --stdin-path TOPOLOGY --id ID --port-offset N`), and
// exits: 0 after a graceful stop, 1 on failure, 2 for bad arguments or an
// invalid topology.
func Main(app *server.App) {
	os.Exit(run(os.Args[1:], app, os.Stdin, os.Stderr))
}

func run(args []string, app *server.App, stdin io.Reader, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "serve" {
		fmt.Fprintf(stderr, "usage: %s serve TOPOLOGY|- [--stdin-path FILE] --id ID [--port-offset N] [--profile P]...\n(pomeloctl up runs this program with these arguments)\n", os.Args[0])
		return 2
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "the server to run")
	stdinPath := fs.String("stdin-path", "", "with TOPOLOGY -, the file the topology on stdin stands for")
	offset := fs.Int("port-offset", 0, "shift every port by N")
	var profiles []string
	fs.Func("profile", "merge a profile over the topology (repeat to stack)", func(p string) error {
		profiles = append(profiles, p)
		return nil
	})
	if err := fs.Parse(args[2:]); err != nil {
		return 2
	}
	opts := topology.Options{Profiles: profiles}
	if isSet(fs, "port-offset") {
		opts.PortOffset = offset
	}
	var t *topology.Topology
	var warnings []topology.Warning
	var err error
	switch {
	case *id == "":
		fmt.Fprintln(stderr, "serve: name the server to run with --id")
		return 2
	case args[1] == "-" && *stdinPath == "":
		fmt.Fprintln(stderr, "serve: with TOPOLOGY -, name the file it stands for with --stdin-path")
		return 2
	case args[1] == "-":
		var data []byte
		if data, err = io.ReadAll(io.LimitReader(stdin, 64<<20)); err == nil {
			t, warnings, err = topology.LoadBytes(*stdinPath, data, opts)
		}
	default:
		t, warnings, err = topology.Load(args[1], opts)
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, w.String())
	}
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Serve(ctx, t, *id, app, stderr); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 1
	}
	return 0
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// Serve runs server id of t with app's code until ctx ends, linked to the
// master the environment names (POMELOCTL_MASTER, POMELOCTL_TOKEN; alone
// without them), logging to w as the topology's log section says. A server
// added at runtime, which t does not declare, is described by
// POMELOCTL_ADD.
func Serve(ctx context.Context, t *topology.Topology, id string, app *server.App, w io.Writer) error {
	if add := os.Getenv(master.EnvAdd); add != "" && t.Server(id) == nil {
		var spec topology.AddSpec
		if err := json.Unmarshal([]byte(add), &spec); err != nil {
			return fmt.Errorf("$%s: %w", master.EnvAdd, err)
		}
		s, err := t.NewServer(spec, topology.ThisMachine())
		if err != nil {
			return fmt.Errorf("server %s added at runtime: %w", id, err)
		}
		t.AddServer(s)
	}
	if dir := os.Getenv(EnvCPUProfile); dir != "" {
		stop, err := cpuProfile(dir, id)
		if err != nil {
			return err
		}
		defer stop()
	}
	return server.Run(ctx, server.Config{
		Topology: t,
		ID:       id,
		Master:   os.Getenv(master.EnvMaster),
		Token:    os.Getenv(master.EnvToken),
		App:      app,
		Logger:   slog.New(LogHandler(t, w, slog.LevelDebug)),
	})
}

// EnvCPUProfile names a folder: every server started with it set writes a
// CPU profile of its whole run there, as ID.cpu, for go tool pprof.
const EnvCPUProfile = "POMELOCTL_CPUPROFILE"

// cpuProfile starts profiling the process into dir/id.cpu.
func cpuProfile(dir, id string) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, id+".cpu"))
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", EnvCPUProfile, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("$%s: %w", EnvCPUProfile, err)
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
