package bench

import (
	"context"
	"log/slog"

	"github.com/pomeloctl/pomeloctl/engine/connector"
)

// EchoRoute is the route of the echo frontend ServeEcho runs.
const EchoRoute = "connector.entryHandler.echo"

// ServeEcho runs a frontend on addr whose one handler echoes the request body,
// for benchmarks that need no cluster. It returns the started server.
func ServeEcho(ctx context.Context, addr string, log *slog.Logger) (*connector.Server, error) {
	s := connector.New(connector.Config{ServerID: "bench-echo", ServerType: "connector", Addr: addr, Logger: log})
	s.Handle("entryHandler.echo", func(_ context.Context, _ *connector.Session, r *connector.Request) (any, error) {
		return r.Body, nil
	})
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
