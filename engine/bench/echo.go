package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// EchoConfig is an echo run: Clients connections, each with InFlight requests
// outstanding at all times, for Duration.
type EchoConfig struct {
	Name     string // a label for the report
	Addr     string
	TCP      bool
	Clients  int
	InFlight int
	Duration time.Duration
	Route    string
	Size     int      // bytes of payload in each request's msg
	Progress Progress // nil for none
}

// EchoResult is what an echo run measured.
type EchoResult struct {
	Name      string        `json:"name"`
	Transport string        `json:"transport"`
	Clients   int           `json:"clients"`
	InFlight  int           `json:"inFlight"`
	Elapsed   time.Duration `json:"elapsed"`
	Requests  int64         `json:"requests"`
	Errors    int64         `json:"errors"`
	PerSecond float64       `json:"perSecond"`
	Latency   Percentiles   `json:"latency"`
	FirstErr  string        `json:"firstError,omitempty"`
}

// Echo runs an echo load against a Pomelo frontend.
func Echo(ctx context.Context, cfg EchoConfig) (*EchoResult, error) {
	cfg = echoDefaults(cfg)
	clients, err := dialAll(ctx, cfg.Clients, func(ctx context.Context) (*client.Client, error) {
		return client.Dial(ctx, cfg.Addr, client.Options{TCP: cfg.TCP})
	})
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	body := []byte(`{"msg":"` + strings.Repeat("x", cfg.Size) + `"}`)
	return run(ctx, cfg, func(ctx context.Context, i int, record func(time.Duration, error)) {
		c := clients[i%len(clients)]
		for ctx.Err() == nil {
			t0 := time.Now()
			_, err := request(ctx, c, cfg.Route, body)
			if ctx.Err() != nil {
				return
			}
			record(time.Since(t0), err)
		}
	})
}

func echoDefaults(cfg EchoConfig) EchoConfig {
	cfg.Clients = max(cfg.Clients, 1)
	cfg.InFlight = max(cfg.InFlight, 1)
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Route == "" {
		cfg.Route = "connector.entryHandler.echo"
	}
	if cfg.Name == "" {
		cfg.Name = "echo"
	}
	return cfg
}

// run starts Clients×InFlight workers for the configured time, reports progress
// and gathers the result.
func run(ctx context.Context, cfg EchoConfig, worker func(ctx context.Context, i int, record func(time.Duration, error))) (*EchoResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	lat := newLatencies()
	var done, failed atomic.Int64
	var firstErr atomic.Value
	record := func(d time.Duration, err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			return
		}
		done.Add(1)
		lat.add(d)
	}
	start := time.Now()
	stopProgress := progress(cfg.Progress, Status{Phase: cfg.Name, Unit: "req", Total: cfg.Duration}, &done, &failed)
	var wg sync.WaitGroup
	for i := range cfg.Clients * cfg.InFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(ctx, i, record)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	transport := "ws"
	if cfg.TCP {
		transport = "tcp"
	}
	res := &EchoResult{
		Name: cfg.Name, Transport: transport, Clients: cfg.Clients, InFlight: cfg.InFlight,
		Elapsed: elapsed, Requests: done.Load(), Errors: failed.Load(),
		PerSecond: float64(done.Load()) / elapsed.Seconds(), Latency: lat.percentiles(),
	}
	res.FirstErr, _ = firstErr.Load().(string)
	return res, nil
}

// dialAll connects n clients, 64 at a time.
func dialAll[C any](ctx context.Context, n int, dial func(context.Context) (C, error)) ([]C, error) {
	out := make([]C, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			out[i], errs[i] = dial(dctx)
		}()
	}
	wg.Wait()
	kept := out[:0]
	var firstErr error
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		kept = append(kept, out[i])
	}
	if firstErr != nil {
		return kept, fmt.Errorf("%d of %d clients could not connect; the first: %w", failed, n, firstErr)
	}
	return kept, nil
}
