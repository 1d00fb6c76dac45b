package bench

import (
	"context"
	"log/slog"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/metrics"
)

// EchoRoute is the route of the echo frontend ServeEcho runs.
const EchoRoute = "connector.entryHandler.echo"

// ServeEcho runs a frontend on addr whose one handler echoes the request body,
// for benchmarks that need no cluster. It returns the started server. With
// met, it counts its requests and connections there as a server with an
// httpPort does (nil: no metrics).
func ServeEcho(ctx context.Context, addr string, log *slog.Logger, met *metrics.Server) (*connector.Server, error) {
	cfg := connector.Config{ServerID: "bench-echo", ServerType: "connector", Addr: addr, Logger: log}
	if met != nil {
		cfg.OnHandled = met.Handled
	}
	s := connector.New(cfg)
	s.Handle("entryHandler.echo", func(_ context.Context, _ *connector.Session, r *connector.Request) (any, error) {
		return r.Body, nil
	})
	met.CountConnections(s.Sessions().Len)
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
