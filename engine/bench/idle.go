package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/proc"
)

// IdleConfig is an idle run: Clients connections that handshake and then only
// heartbeat, held for Hold, while the memory of the server process Pid is read.
type IdleConfig struct {
	Addr     string
	TCP      bool
	Clients  int
	Hold     time.Duration
	Pid      int // the frontend's process, whose PSS is measured; 0 to skip
	Progress io.Writer
}

// IdleResult is what an idle run measured.
type IdleResult struct {
	Clients      int     `json:"clients"`
	Connected    int     `json:"connected"`
	PSSBefore    int64   `json:"pssBefore"`
	PSSAfter     int64   `json:"pssAfter"`
	PerClientKiB float64 `json:"perClientKiB"`
	DialSeconds  float64 `json:"dialSeconds"`
}

// Idle connects the clients, waits for the server to settle, and measures the
// change in its PSS per client.
func Idle(ctx context.Context, cfg IdleConfig) (*IdleResult, error) {
	res := &IdleResult{Clients: cfg.Clients}
	var err error
	if cfg.Pid > 0 {
		if res.PSSBefore, err = proc.PSS(cfg.Pid); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	clients, err := dialAll(ctx, cfg.Clients, func(ctx context.Context) (*client.Client, error) {
		return client.Dial(ctx, cfg.Addr, client.Options{TCP: cfg.TCP})
	})
	res.DialSeconds = time.Since(start).Seconds()
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	res.Connected = len(clients)
	if err != nil {
		return res, err
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "idle: %d clients connected in %.1fs; holding %s\n", len(clients), res.DialSeconds, cfg.Hold)
	}
	select {
	case <-time.After(cfg.Hold):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	if cfg.Pid > 0 {
		if res.PSSAfter, err = proc.PSS(cfg.Pid); err != nil {
			return nil, err
		}
		res.PerClientKiB = float64(res.PSSAfter-res.PSSBefore) / 1024 / float64(len(clients))
	}
	return res, nil
}
