package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/engine/connector"
)

// Requests sent at once from many goroutines share writes; each must still
// arrive whole and get its own answer, over both transports.
func TestConcurrentRequests(t *testing.T) {
	s := connector.New(connector.Config{ServerID: "connector-1", ServerType: "connector", Addr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.Handle("entryHandler.echo", func(_ context.Context, _ *connector.Session, r *connector.Request) (any, error) {
		return r.Body, nil
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tcp := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := client.Dial(ctx, s.Addr().String(), client.Options{TCP: tcp})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for g := range 40 {
			wg.Go(func() {
				for i := range 10 {
					body := fmt.Sprintf(`{"g":%d,"i":%d,"pad":"%0*d"}`, g, i, g*37, 0)
					got, err := c.Request(ctx, "connector.entryHandler.echo", []byte(body))
					if err != nil || string(got) != body {
						errs <- fmt.Errorf("tcp=%v: %s answered %s, %v", tcp, body, got, err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		c.Close()
		if _, err := c.Request(ctx, "connector.entryHandler.echo", []byte(`{}`)); err == nil {
			t.Error("a request on a closed client did not fail")
		}
		cancel()
	}
}
