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
// for bad arguments or an invalid topology.
func Main(app *server.App) {
	os.Exit(run(os.Args[1:], app, os.Stdin, os.Stderr))
}

func run(args []string, app *server.App, stdin io.Reader, stderr io.Writer) int {
	spec, err := launch.Parse(args)
	if err != nil {
		prog := filepath.Base(os.Args[0])
		fmt.Fprintf(stderr, "%s: %v\nusage: %s %s\n(pomeloctl up runs servers with these arguments)\n", prog, err, prog, launch.Usage)
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

// Serve runs server id of t with app's code until ctx ends, linked to the
// master the environment names (launch.EnvMaster, launch.EnvToken; alone
// without them), logging to w as the topology's log section says. A server
// added at runtime, which t does not declare, is described by
// launch.EnvAdd.
func Serve(ctx context.Context, t *topology.Topology, id string, app *server.App, w io.Writer) error {
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
