package master

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/admin"
	"github.com/pomeloctl/pomeloctl/engine/lifecycle"
	"github.com/pomeloctl/pomeloctl/engine/metrics"
)

// serveMetrics serves this master's /metrics on its HTTP endpoint
// (http.host and its httpPort) until stop is called: when the master's
// Run (or RunHA) returns, not when its context ends, so that /metrics
// answers while the cluster stops. A master without an httpPort has
// neither metrics nor endpoint (nil, and a stop that does nothing).
func serveMetrics(cfg Config, log *slog.Logger) (*metrics.Master, func(), error) {
	id, _ := cfg.self()
	var addr string
	for _, ma := range cfg.Topology.Masters() {
		if ma.ID == id {
			addr = ma.HTTP
		}
	}
	if addr == "" {
		return nil, func() {}, nil
	}
	met := metrics.NewMaster(id)
	ep := metrics.NewEndpoint(addr, met.Gatherer(), log)
	if err := ep.Start(context.Background()); err != nil {
		return nil, nil, fmt.Errorf("master %s: %w", id, err)
	}
	return met, func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := ep.Stop(stopCtx); err != nil {
			log.Warn("the HTTP endpoint did not stop cleanly", "err", err)
		}
	}, nil
}

// countStates sets the servers by state in the metrics; on the loop,
// after every change.
func (m *Master) countStates() {
	if m.metrics == nil {
		return
	}
	var n [lifecycle.Failed + 1]int
	for _, mem := range m.members {
		n[mem.m.State()]++
	}
	m.metrics.SetServers(func(st lifecycle.State) int { return n[st] })
}

// counted is the master as the admin API acts on it, every operator's
// action counted in its metrics with its outcome.
type counted struct{ *Master }

func (c counted) Kill(ctx context.Context, id string) error {
	err := c.Master.Kill(ctx, id)
	c.metrics.Acted("kill", err)
	return err
}

func (c counted) Stop(ctx context.Context, ids []string) error {
	err := c.Master.Stop(ctx, ids)
	c.metrics.Acted("stop", err)
	return err
}

func (c counted) Restart(ctx context.Context, id string) error {
	err := c.Master.Restart(ctx, id)
	c.metrics.Acted("restart", err)
	return err
}

func (c counted) Add(ctx context.Context, req admin.AddRequest) (admin.ServerStatus, error) {
	st, err := c.Master.Add(ctx, req)
	c.metrics.Acted("add", err)
	return st, err
}

func (c counted) Down(ctx context.Context) error {
	err := c.Master.Down(ctx)
	c.metrics.Acted("down", err)
	return err
}

func (c counted) Promote(ctx context.Context, id string) error {
	err := c.Master.Promote(ctx, id)
	c.metrics.Acted("promote", err)
	return err
}
