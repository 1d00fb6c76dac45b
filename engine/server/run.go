package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pomeloctl/pomeloctl/topology"
)

// ErrNotBuilt reports a server the runtime cannot run yet.
var ErrNotBuilt = errors.New("not built yet")

// DrainTimeout bounds a graceful stop.
const DrainTimeout = 10 * time.Second

// Run runs server id of topology t until ctx ends, then stops it gracefully.
// ready, when not nil, is called once every component has started.
func Run(ctx context.Context, t *topology.Topology, id string, log *slog.Logger, ready func()) error {
	s := t.Server(id)
	if s == nil {
		return fmt.Errorf("no server %q in %s", id, t.File)
	}
	log = log.With("server", s.ID, "type", s.Type)
	if !s.Frontend {
		return fmt.Errorf("server %s is a backend, and backends need server-to-server RPC, which is %w: only frontends run for now", s.ID, ErrNotBuilt)
	}
	fe, err := newFrontend(t, s, log)
	if err != nil {
		return fmt.Errorf("server %s: %w", s.ID, err)
	}
	comps := NewComponents(log, Hooks{}, fe)
	if err := comps.Start(ctx); err != nil {
		return fmt.Errorf("server %s: %w", s.ID, err)
	}
	log.Info("server started")
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	if err := comps.Stop(stopCtx); err != nil {
		return fmt.Errorf("server %s: %w", s.ID, err)
	}
	log.Info("server stopped")
	return nil
}
