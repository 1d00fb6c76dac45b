package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// ConnectConfig is a connect run: Clients players log in as chatofpomelo's
// client does — the gate's queryEntry, then a handshake with the connector
// it names and the enter request — Concurrency at a time, in rooms of
// RoomSize.
type ConnectConfig struct {
	Gate        string // the gate's client address host:port
	TCP         bool
	Clients     int
	Concurrency int
	RoomSize    int
	QueryRoute  string // default gate.gateHandler.queryEntry
	EnterRoute  string // default connector.entryHandler.enter
	Progress    io.Writer
}

// ConnectResult is what a connect run measured: logins per second, and the
// latency of one login (gate, handshake, enter).
type ConnectResult struct {
	Clients   int           `json:"clients"`
	LoggedIn  int64         `json:"loggedIn"`
	Errors    int64         `json:"errors"`
	Elapsed   time.Duration `json:"elapsed"`
	PerSecond float64       `json:"perSecond"`
	Latency   Percentiles   `json:"latency"`
	FirstErr  string        `json:"firstError,omitempty"`
}

// Connect logs the clients in, then closes them all.
func Connect(ctx context.Context, cfg ConnectConfig) (*ConnectResult, error) {
	if cfg.QueryRoute == "" {
		cfg.QueryRoute = "gate.gateHandler.queryEntry"
	}
	if cfg.EnterRoute == "" {
		cfg.EnterRoute = "connector.entryHandler.enter"
	}
	cfg.Concurrency = max(cfg.Concurrency, 1)
	cfg.RoomSize = max(cfg.RoomSize, 1)
	res := &ConnectResult{Clients: cfg.Clients}
	lat := newLatencies()
	var loggedIn, failed atomic.Int64
	var firstErr atomic.Value
	conns := make([]*client.Client, cfg.Clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	start := time.Now()
	stop := progress(cfg.Progress, "connect", start, &loggedIn, &failed)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= cfg.Clients {
					return
				}
				t0 := time.Now()
				c, err := login(ctx, cfg, i)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat.add(time.Since(t0))
				conns[i] = c
				loggedIn.Add(1)
			}
		})
	}
	wg.Wait()
	stop()
	res.Elapsed = time.Since(start)
	res.LoggedIn, res.Errors = loggedIn.Load(), failed.Load()
	res.PerSecond = float64(res.LoggedIn) / res.Elapsed.Seconds()
	res.Latency = lat.percentiles()
	if e, ok := firstErr.Load().(string); ok {
		res.FirstErr = e
	}
	return res, ctx.Err()
}

// login is one player: the gate, then the connector it names, then enter.
func login(ctx context.Context, cfg ConnectConfig, i int) (*client.Client, error) {
	opts := client.Options{TCP: cfg.TCP}
	gate, err := client.Dial(ctx, cfg.Gate, opts)
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	uid := "bench-" + strconv.Itoa(i)
	resp, err := gate.Request(ctx, cfg.QueryRoute, []byte(`{"uid":"`+uid+`"}`))
	gate.Close()
	if err != nil {
		return nil, fmt.Errorf("queryEntry: %w", err)
	}
	var entry struct {
		Code int
		Host string
		Port int
	}
	if err := json.Unmarshal(resp, &entry); err != nil || entry.Code != 200 {
		return nil, fmt.Errorf("queryEntry answered %s", resp)
	}
	c, err := client.Dial(ctx, net.JoinHostPort(entry.Host, strconv.Itoa(entry.Port)), opts)
	if err != nil {
		return nil, fmt.Errorf("connector: %w", err)
	}
	body := fmt.Sprintf(`{"username":%q,"rid":"bench-room-%d"}`, uid, i/cfg.RoomSize)
	resp, err = c.Request(ctx, cfg.EnterRoute, []byte(body))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("enter: %w", err)
	}
	var answer struct {
		Code int `json:"code"`
	}
	if json.Unmarshal(resp, &answer) == nil && answer.Code != 0 && answer.Code != 200 {
		c.Close()
		return nil, fmt.Errorf("enter answered %s", resp)
	}
	return c, nil
}
