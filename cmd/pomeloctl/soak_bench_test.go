package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/bench"
	"github.com/pomeloctl/pomeloctl/engine/client"
)

// BenchmarkSoakKill9 is the restart soak of BENCHMARKS.md: the chat demo
// with restart: on-failure, 600 players in rooms of 20 each keeping one
// echo request in flight, and a chat server killed with -9 every 5 s, for
// 60 s. Every failed request, every disconnect and every room answered by
// more than one server is counted; none may happen.
//
//	go test -run '^$' -bench SoakKill9 -benchtime 1x ./cmd/pomeloctl/
func BenchmarkSoakKill9(b *testing.B) {
	const (
		players  = 600
		roomSize = 20
		duration = 60 * time.Second
		every    = 5 * time.Second
	)
	top := strings.Replace(chatTopology(b), "  chat:\n", "  chat:\n    restart: on-failure\n", 1)
	c := newTestCluster(b, top)
	c.must("up", c.file, "-d", "--timeout", "30s")
	defer c.must("down")

	ctx, cancel := context.WithTimeout(context.Background(), duration+time.Minute)
	defer cancel()
	var disconnects atomic.Int64
	conns := make([]*client.Client, players)
	for i := range conns {
		cl, err := client.Dial(ctx, c.port(3050+i%3), client.Options{OnKick: func(string) { disconnects.Add(1) }})
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		body := fmt.Sprintf(`{"username":"u%d","rid":"room-%d"}`, i, i/roomSize)
		if _, err := cl.Request(ctx, "connector.entryHandler.enter", []byte(body)); err != nil {
			b.Fatalf("player %d enters: %v", i, err)
		}
		conns[i] = cl
	}

	var (
		done, failed atomic.Int64
		firstErr     atomic.Value
		mu           sync.Mutex
		servers      = map[int]map[string]bool{} // room → the chat servers that answered it
	)
	b.ResetTimer()
	wctx, stop := context.WithTimeout(ctx, duration)
	defer stop()
	var wg sync.WaitGroup
	for i, cl := range conns {
		wg.Go(func() {
			room := i / roomSize
			for wctx.Err() == nil {
				resp, err := cl.Request(ctx, "chat.chatHandler.echo", []byte(`{"n":1}`))
				if err == nil {
					err = bench.ReplyError(resp)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					if errors.Is(err, client.ErrClosed) {
						disconnects.Add(1)
						return
					}
					continue
				}
				done.Add(1)
				var r struct{ Server string }
				_ = json.Unmarshal(resp, &r)
				mu.Lock()
				if servers[room] == nil {
					servers[room] = map[string]bool{}
				}
				servers[room][r.Server] = true
				mu.Unlock()
			}
		})
	}
	kills := 0
	tick := time.NewTicker(every)
	for wctx.Err() == nil {
		select {
		case <-tick.C:
			id := "chat-server-" + strconv.Itoa(kills%3+1)
			if s := c.ls()[id]; s.Pid > 0 && syscall.Kill(s.Pid, syscall.SIGKILL) == nil {
				kills++
			}
		case <-wctx.Done():
		}
	}
	tick.Stop()
	wg.Wait()
	split := 0
	for _, s := range servers {
		if len(s) > 1 {
			split++
		}
	}
	b.ReportMetric(float64(done.Load())/duration.Seconds(), "req/s")
	b.ReportMetric(float64(failed.Load()), "failed")
	b.ReportMetric(float64(disconnects.Load()), "disconnects")
	b.ReportMetric(float64(split), "split-rooms")
	b.ReportMetric(float64(kills), "kills")
	if failed.Load() > 0 || disconnects.Load() > 0 || split > 0 {
		b.Errorf("%d of %d requests failed (first: %v), %d disconnects, %d of %d rooms answered by more than one server",
			failed.Load(), failed.Load()+done.Load(), firstErr.Load(), disconnects.Load(), split, len(servers))
	}
}
