package bench

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/proc"
)

// IdleConfig is an idle run: Clients connections that handshake and then only
// heartbeat, held for Hold, while the summed memory of the processes Pids is
// read. The clients connect to the frontend Addr, or log in through Gate as
// chatofpomelo's clients do.
type IdleConfig struct {
	Addr string
	Gate string
	// RoomSize, with Gate, has the clients enter rooms of that size after
	// the handshake; 0 leaves them connected but not entered.
	RoomSize int
	TCP      bool
	Clients  int
	Hold     time.Duration
	Pids     []int // the server processes whose PSS is measured; none to skip
	Progress Progress
}

// IdleResult is what an idle run measured.
type IdleResult struct {
	Clients      int     `json:"clients"`
	Processes    int     `json:"processes"`
	Connected    int     `json:"connected"`
	PSSBefore    int64   `json:"pssBefore"`
	PSSAfter     int64   `json:"pssAfter"`
	PerClientKiB float64 `json:"perClientKiB"`
	DialSeconds  float64 `json:"dialSeconds"`
}

// Idle connects the clients, waits for the server to settle, and measures the
// change in its PSS per client.
func Idle(ctx context.Context, cfg IdleConfig) (*IdleResult, error) {
	res := &IdleResult{Clients: cfg.Clients, Processes: len(cfg.Pids)}
	var err error
	if res.PSSBefore, err = sumPSS(cfg.Pids); err != nil {
		return nil, err
	}
	start := time.Now()
	var n, connected, failed atomic.Int64
	login := Login{Gate: cfg.Gate, Options: client.Options{TCP: cfg.TCP}}
	prefix := runPrefix("idle")
	stop := progress(cfg.Progress, Status{Phase: "idle connect", Unit: "clients", Of: int64(cfg.Clients)}, &connected, &failed)
	clients, err := dialAll(ctx, cfg.Clients, func(ctx context.Context) (c *client.Client, err error) {
		i := int(n.Add(1)) - 1
		defer func() {
			if err != nil {
				failed.Add(1)
			} else {
				connected.Add(1)
			}
		}()
		switch {
		case cfg.Gate == "":
			return client.Dial(ctx, cfg.Addr, login.Options)
		case cfg.RoomSize > 0:
			return login.Player(ctx, prefix+strconv.Itoa(i), prefix+"room-"+strconv.Itoa(i/cfg.RoomSize))
		}
		return login.Player(ctx, prefix+strconv.Itoa(i), "")
	})
	res.DialSeconds = time.Since(start).Seconds()
	stop()
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	res.Connected = len(clients)
	if err != nil {
		return res, err
	}
	stop = progress(cfg.Progress, Status{Phase: "idle hold", Total: cfg.Hold}, nil, nil)
	select {
	case <-time.After(cfg.Hold):
		stop()
	case <-ctx.Done():
		stop()
		return res, ctx.Err()
	}
	if len(cfg.Pids) > 0 {
		if res.PSSAfter, err = sumPSS(cfg.Pids); err != nil {
			return nil, err
		}
		res.PerClientKiB = float64(res.PSSAfter-res.PSSBefore) / 1024 / float64(len(clients))
	}
	return res, nil
}

// sumPSS is the summed PSS of the processes: shared pages are split between
// them, so the sum is what the cluster costs.
func sumPSS(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		n, err := proc.PSS(pid)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}
