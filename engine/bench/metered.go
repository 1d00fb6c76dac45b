package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/metrics"
)

// MeteredEcho is an echo frontend with metrics, as a server with an
// httpPort runs: its requests and connections counted, and its /metrics
// served and scraped as it starts, then once a second (Prometheus scrapes
// every 15s or so: this errs on the side of cost).
type MeteredEcho struct {
	Server   *connector.Server
	endpoint *metrics.Endpoint
	scrapes  atomic.Int64
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// ServeMeteredEcho starts a MeteredEcho on loopback.
func ServeMeteredEcho(ctx context.Context, log *slog.Logger) (*MeteredEcho, error) {
	met := metrics.NewServer(metrics.ServerConfig{ID: "bench-echo", Type: "connector", Frontend: true, Routes: []string{EchoRoute}})
	e := &MeteredEcho{endpoint: metrics.NewEndpoint("127.0.0.1:0", met.Gatherer(), log)}
	if err := e.endpoint.Start(ctx); err != nil {
		return nil, err
	}
	srv, err := ServeEcho(ctx, "127.0.0.1:0", log, met)
	if err != nil {
		_ = e.endpoint.Stop(context.Background())
		return nil, err
	}
	e.Server = srv
	sctx, stop := context.WithCancel(ctx)
	e.stop = stop
	url := "http://" + e.endpoint.Addr().String() + "/metrics"
	e.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if scrape(sctx, url) == nil {
				e.scrapes.Add(1)
			}
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return e, nil
}

// Scrapes is how many scrapes of /metrics succeeded.
func (e *MeteredEcho) Scrapes() int64 { return e.scrapes.Load() }

// Close stops the scrapes, the endpoint and the frontend.
func (e *MeteredEcho) Close() error {
	e.stop()
	e.wg.Wait()
	_ = e.endpoint.Stop(context.Background())
	return e.Server.Close()
}

// Cost is what metrics cost in one round of EchoMetered, in percent of
// the figure without them: Rate, the change in requests/s (negative: they
// cost that much); CPU, the change in this process's CPU time per request
// (positive: they cost that much). On a shared machine CPU per request
// moves less with the neighbours' load than requests/s does.
type Cost struct {
	Rate float64 `json:"rate"`
	CPU  float64 `json:"cpu"`
}

// Names of the runs EchoMetered makes.
const (
	MetricsOff = "echo, metrics off"
	MetricsOn  = "echo, metrics on"
)

// EchoMetered measures what metrics cost a frontend: cfg's load (its Addr
// and Route ignored) on an echo frontend without metrics and on a
// MeteredEcho, rounds times, the two taking turns to go first so that
// neither always runs on the warmer process. It returns every run in
// order, and each round's cost. Both frontends, the load and the
// scrapes run in this process: its CPU time is the whole cost.
func EchoMetered(ctx context.Context, cfg EchoConfig, rounds int, log *slog.Logger) (runs []*EchoResult, costs []Cost, err error) {
	plain, err := ServeEcho(ctx, "127.0.0.1:0", log, nil)
	if err != nil {
		return nil, nil, err
	}
	defer plain.Close()
	met, err := ServeMeteredEcho(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	defer met.Close()
	off, on := cfg, cfg
	off.Addr, off.Name, off.Route = plain.Addr().String(), MetricsOff, EchoRoute
	on.Addr, on.Name, on.Route = met.Server.Addr().String(), MetricsOn, EchoRoute
	for i := range max(rounds, 1) {
		order := []EchoConfig{off, on}
		if i%2 == 1 {
			order[0], order[1] = on, off
		}
		var got [2]*EchoResult
		var cpu [2]time.Duration
		for j, c := range order {
			t0 := cpuTime()
			if got[j], err = Echo(ctx, c); err != nil {
				return runs, costs, err
			}
			cpu[j] = cpuTime() - t0
			runs = append(runs, got[j])
		}
		if i%2 == 1 {
			got[0], got[1] = got[1], got[0]
			cpu[0], cpu[1] = cpu[1], cpu[0]
		}
		if got[0].Requests > 0 && got[1].Requests > 0 && cpu[0] > 0 {
			perReq := func(j int) float64 { return float64(cpu[j]) / float64(got[j].Requests) }
			costs = append(costs, Cost{Rate: (got[1].PerSecond/got[0].PerSecond - 1) * 100, CPU: (perReq(1)/perReq(0) - 1) * 100})
		}
	}
	if met.Scrapes() == 0 {
		return runs, costs, errors.New("the metered echo's /metrics never answered a scrape")
	}
	return runs, costs, nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func scrape(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("scrape %s: %s", url, res.Status)
	}
	return nil
}
