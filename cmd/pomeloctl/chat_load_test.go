package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/client"
)

// TestChatLoad is a bounded load test of the chat demo as `pomeloctl up`
// runs it: 1,000 clients in 50 rooms of 20 on the three connectors each
// say hello to their room once, and every one of the 20,000 onChat pushes
// that makes must arrive.
func TestChatLoad(t *testing.T) {
	const (
		clients  = 1000
		roomSize = 20
	)
	c := newTestCluster(t, chatTopology(t))
	c.must("up", c.file, "-d", "--timeout", "30s")
	defer c.must("down")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var pushes atomic.Int64
	conns := make([]*client.Client, clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	sem := make(chan struct{}, 50) // connect 50 at a time
	for i := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			addr := "127.0.0.1:" + strconv.Itoa(3050+i%3+c.offset)
			cl, err := client.Dial(ctx, addr, client.Options{OnPush: func(route string, _ []byte) {
				if route == "onChat" {
					pushes.Add(1)
				}
			}})
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			conns[i] = cl
			body := fmt.Sprintf(`{"username":"u%d","rid":"room-%d"}`, i, i/roomSize)
			if _, err := cl.Request(ctx, "connector.entryHandler.enter", []byte(body)); err != nil {
				errs <- fmt.Errorf("client %d enters: %w", i, err)
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, cl := range conns {
			if cl != nil {
				cl.Close()
			}
		}
	}()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	start := time.Now()
	for i, cl := range conns {
		wg.Go(func() {
			body := fmt.Sprintf(`{"rid":"room-%d","content":"hello from %d","from":"u%d","target":"*"}`, i/roomSize, i, i)
			if _, err := cl.Request(ctx, "chat.chatHandler.send", []byte(body)); err != nil {
				t.Errorf("client %d sends: %v", i, err)
			}
		})
	}
	wg.Wait()
	want := int64(clients * roomSize)
	for pushes.Load() < want && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if got := pushes.Load(); got != want {
		t.Fatalf("%d onChat pushes arrived, want %d", got, want)
	}
	t.Logf("%d clients, %d pushes delivered in %s", clients, want, time.Since(start).Round(time.Millisecond))
}
