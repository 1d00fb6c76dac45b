package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Endpoint is a process's HTTP endpoint: /metrics, from the process's
// registry, and whatever else the process mounts on it with Handle before
// it starts. It has a server's component life: Provision binds the port
// (a port that is taken fails before anything else starts), Start serves
// until Stop or the end of Start's context.
type Endpoint struct {
	addr string
	mux  *http.ServeMux
	log  *slog.Logger

	ln   net.Listener
	srv  *http.Server
	once sync.Once
	done chan struct{} // closed when Serve has returned
}

// NewEndpoint makes the endpoint that serves g's metrics on addr
// (http.host and an httpPort).
func NewEndpoint(addr string, g prometheus.Gatherer, log *slog.Logger) *Endpoint {
	if log == nil {
		log = slog.Default()
	}
	e := &Endpoint{addr: addr, mux: http.NewServeMux(), log: log, done: make(chan struct{})}
	e.mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// A scrape that finds a collector failing still gets the rest.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	return e
}

// Handle mounts h on pattern (http.ServeMux's patterns), beside /metrics.
// Call it before Start.
func (e *Endpoint) Handle(pattern string, h http.Handler) { e.mux.Handle(pattern, h) }

// Name is the endpoint as a server's component.
func (e *Endpoint) Name() string { return "http" }

// Provision binds the endpoint's address.
func (e *Endpoint) Provision(context.Context) error {
	if e.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		return fmt.Errorf("the HTTP endpoint (/metrics) cannot listen on %s (http.host and httpPort in the topology): %w", e.addr, err)
	}
	e.ln = ln
	return nil
}

// Addr is the address the endpoint listens on, once provisioned.
func (e *Endpoint) Addr() net.Addr { return e.ln.Addr() }

// Start serves in the background until Stop, or until ctx ends.
func (e *Endpoint) Start(ctx context.Context) error {
	if err := e.Provision(ctx); err != nil {
		return err
	}
	e.srv = &http.Server{
		Handler:           e.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(e.done)
		if err := e.srv.Serve(e.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Warn("the HTTP endpoint stopped serving", "addr", e.addr, "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			e.close(context.Background())
		case <-e.done:
		}
	}()
	e.log.Info("HTTP endpoint listening", "addr", e.ln.Addr().String(), "metrics", "/metrics")
	return nil
}

// Stop stops serving: the scrapes under way finish within ctx.
func (e *Endpoint) Stop(ctx context.Context) error {
	if e.srv == nil {
		if e.ln != nil {
			return e.ln.Close() // provisioned, never started
		}
		return nil
	}
	e.close(ctx)
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the HTTP endpoint on %s: %w", e.addr, ctx.Err())
	}
}

func (e *Endpoint) close(ctx context.Context) {
	e.once.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			_ = e.srv.Close()
		}
	})
}
